// Package handlers serves Slack's HTTP endpoints (slash commands,
// interactivity, options, events), health, readiness and metrics with echo.
// Echo handlers are thin adapters: they decode a verified request into a
// transport-neutral value and hand it to the Dispatcher, whose flows never
// see echo.Context (Socket Mode feeds the same Dispatcher). It does not talk
// to AWS directly (ec2ops does) and does not render Block Kit (blocks does).
package handlers
