// Package handlers is Charlize's transport: it serves Slack's HTTP endpoints
// (slash commands, interactivity, options, events) with echo, verifies every
// request's signature, receives the same requests over Socket Mode, serves
// health, readiness, metrics and the "Add to Slack" pages, and writes one log
// line per request. It decodes each request into a transport-neutral value
// and hands it to the app core (handlers/app), which holds every flow; it
// holds no flow logic itself, talks to no AWS and renders no Block Kit.
package handlers
