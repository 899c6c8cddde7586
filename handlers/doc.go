// Package handlers serves Slack's HTTP endpoints (slash commands,
// interactivity, options, events), health, readiness and metrics with echo.
// Echo handlers are thin adapters: they decode a verified request into a
// transport-neutral value and hand it to the Dispatcher, whose flows never
// see echo.Context (the Socket Mode adapter, socketmode.go, feeds the same
// Dispatcher). In multi-workspace mode it also serves the "Add to Slack"
// pages (oauth.go) and resolves each workspace's token from its stored
// installation (installation.go). It does not talk
// to AWS directly (ec2ops does) and does not render Block Kit (blocks does).
package handlers
