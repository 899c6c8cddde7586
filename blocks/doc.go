// Package blocks renders Charlize's Slack messages and modals as Block Kit
// values (slack-go types) from plain view structs. It performs no I/O and
// reads no clock: every time, id and name it shows arrives in the view.
package blocks
