// Package app is Charlize's app core: the Dispatcher that every transport
// feeds and the flows it routes to (list, card, act, terminate, approval,
// audit, events, accounts, help, and notify, which posts AWS events that
// the awsevents poller hands it). It decides with the policy, acts through
// ec2ops, renders with blocks and speaks to Slack through slackclient. It
// imports no HTTP framework: the transports in handlers adapt to it.
package app
