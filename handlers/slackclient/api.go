// Package slackclient is Charlize's side of Slack's Web API: the interface
// the flows call, the clients that act for a workspace (one bot token, or
// each workspace's stored installation with token rotation), calls that
// wait out rate limits, response_url posts and the user-group cache. It
// holds no flow logic and renders nothing.
package slackclient

import (
	"context"
	"errors"

	"github.com/slack-go/slack"
)

// API is the part of Slack's Web API the flows call; NewClient's *Client
// (slack-go's *slack.Client and one call of Charlize's own) satisfies it.
type API interface {
	OpenViewContext(ctx context.Context, triggerID string, view slack.ModalViewRequest) (*slack.ViewResponse, error)
	// OpenViewJSON is views.open with a view already encoded (the picker's),
	// given in pieces that make it up one after the other.
	OpenViewJSON(ctx context.Context, triggerID string, view ...[]byte) error
	UpdateViewContext(ctx context.Context, view slack.ModalViewRequest, externalID, hash, viewID string) (*slack.ViewResponse, error)
	PostMessageContext(ctx context.Context, channelID string, options ...slack.MsgOption) (string, string, error)
	UpdateMessageContext(ctx context.Context, channelID, timestamp string, options ...slack.MsgOption) (string, string, string, error)
	PostEphemeralContext(ctx context.Context, channelID, userID string, options ...slack.MsgOption) (string, error)
	// GetUserGroupMembersContext lists a user group's members (scope
	// usergroups:read), for policies that name groups.
	GetUserGroupMembersContext(ctx context.Context, group string, options ...slack.GetUserGroupMembersOption) ([]string, error)
	// UploadFileContext runs Slack's external upload flow
	// (files.getUploadURLExternal, the upload, files.completeUploadExternal;
	// scope files:write), for the instance card's graph.
	UploadFileContext(ctx context.Context, params slack.UploadFileParameters) (*slack.FileSummary, error)
	// AuthTestContext says which workspace the token is for: notifications
	// in single-workspace mode learn the team their buttons belong to.
	AuthTestContext(ctx context.Context) (*slack.AuthTestResponse, error)
}

// ErrNotInstalled means the request's workspace has no installation.
var ErrNotInstalled = errors.New("charlize is not installed in this workspace")

// Team identifies the Slack workspace (and Enterprise Grid org) a request
// comes from.
type Team struct {
	ID, EnterpriseID string
}

// Clients resolves the Slack client that acts for a workspace: one bot
// token in single-workspace mode, the installation's in multi-workspace mode.
type Clients interface {
	Client(ctx context.Context, team Team) (API, error)
	// Installed returns ErrNotInstalled when team has not installed
	// Charlize, so that every request from it is told so, even one that
	// needs no Slack call.
	Installed(ctx context.Context, team Team) error
}

// SingleWorkspace serves every request with one bot token.
type SingleWorkspace struct{ API API }

var _ Clients = SingleWorkspace{}

// Client returns the one client.
func (s SingleWorkspace) Client(context.Context, Team) (API, error) {
	if s.API == nil {
		return nil, ErrNotInstalled
	}
	return s.API, nil
}

// Installed is always true: the one token is the installation, and a
// missing token is reported when a flow asks for the client.
func (s SingleWorkspace) Installed(context.Context, Team) error { return nil }
