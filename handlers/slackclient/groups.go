package slackclient

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/charlize-app/charlize/handlers/reqctx"
)

// maxGroupStaleness is how many TTLs old a membership may be when Slack
// cannot be asked.
const maxGroupStaleness = 3

// Groups keeps user group memberships briefly: policy checks run on every
// click, usergroups.users.list is rate-limited.
type Groups struct {
	clients Clients
	log     *slog.Logger
	ttl     time.Duration
	now     func() time.Time

	mu      sync.Mutex
	entries map[string]groupEntry
}

type groupEntry struct {
	at      time.Time
	members []string
}

// NewGroups builds a cache that reads through clients, keeping a
// membership for ttl.
func NewGroups(clients Clients, log *slog.Logger, ttl time.Duration, now func() time.Time) *Groups {
	return &Groups{clients: clients, log: log, ttl: ttl, now: now, entries: map[string]groupEntry{}}
}

// Members returns the members of team's user group, from the cache when
// fresh. When Slack cannot be asked, a reading up to three TTLs old is
// used; beyond that the group has no members (refusing is the safe side).
func (c *Groups) Members(ctx context.Context, team Team, group string) []string {
	key := team.ID + "/" + group
	c.mu.Lock()
	cached, have := c.entries[key]
	c.mu.Unlock()
	if have && c.now().Sub(cached.at) < c.ttl {
		return cached.members
	}
	api, err := c.clients.Client(ctx, team)
	if err != nil {
		return nil
	}
	members, err := api.GetUserGroupMembersContext(ctx, group)
	if err != nil {
		// The log says why (often the usergroups:read scope).
		c.log.WarnContext(ctx, "could not read user group members", "request_id", reqctx.ID(ctx),
			"group", group, "slack_error", ErrorCode(err), "err", err)
		// A recent reading beats nothing while Slack is slow; an old one
		// could keep granting to someone removed from the group.
		if have && c.now().Sub(cached.at) < maxGroupStaleness*c.ttl {
			return cached.members
		}
		return nil
	}
	c.mu.Lock()
	c.entries[key] = groupEntry{at: c.now(), members: members}
	c.mu.Unlock()
	return members
}
