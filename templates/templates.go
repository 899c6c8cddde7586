// Package templates holds the HTML pages Charlize serves to browsers (the
// "Add to Slack" install page and the OAuth outcome pages) and the demo
// console (console/: plain HTML, CSS and JavaScript, no build step),
// embedded in the binary. It only exposes the files; handlers parses and
// renders them.
package templates

import "embed"

// FS holds every *.html page.
//
//go:embed *.html
var FS embed.FS

// Console holds the demo console's page and assets, under console/.
//
//go:embed console
var Console embed.FS
