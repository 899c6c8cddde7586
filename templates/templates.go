// Package templates holds the HTML pages Charlize serves to browsers (the
// "Add to Slack" install page and the OAuth outcome pages), embedded in
// the binary. It only exposes the files; handlers parses and renders them.
package templates

import "embed"

// FS holds every *.html page.
//
//go:embed *.html
var FS embed.FS
