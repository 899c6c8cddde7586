// Package store keeps Charlize's state: Slack installations, short-lived
// flow sessions, once-only claims, durable actions, the notices Charlize
// posted on its own and their groups, OAuth state values and the audit log.
// It defines the contract (Store) with its value types and sentinel errors,
// and two implementations that pass one conformance suite (storetest):
// Redis for production and an embedded bbolt file as the zero-config
// default. It does not encrypt anything; callers that keep secrets wrap it.
package store

import (
	"context"
	"errors"
	"time"

	"github.com/charlize-app/charlize/ec2ops/action"
)

// Sentinel errors; callers test them with errors.Is.
var (
	// ErrNotFound means the value is missing, expired or already consumed.
	ErrNotFound = errors.New("store: not found")
	// ErrUnavailable means the backing service cannot be reached.
	ErrUnavailable = errors.New("store: unavailable")
)

// DefaultAuditLimit bounds the audit log when no limit is configured.
const DefaultAuditLimit = 100_000

// Installation is one Slack workspace's (or Enterprise Grid org's) install.
type Installation struct {
	// Key is TeamKey(teamID) or EnterpriseKey(enterpriseID).
	Key                 string    `json:"key"`
	TeamID              string    `json:"team_id,omitempty"`
	TeamName            string    `json:"team_name,omitempty"`
	EnterpriseID        string    `json:"enterprise_id,omitempty"`
	IsEnterpriseInstall bool      `json:"is_enterprise_install,omitempty"`
	AppID               string    `json:"app_id,omitempty"`
	BotUserID           string    `json:"bot_user_id,omitempty"`
	BotToken            string    `json:"bot_token"`
	BotTokenExpiresAt   time.Time `json:"bot_token_expires_at,omitempty"`
	RefreshToken        string    `json:"refresh_token,omitempty"`
	Scopes              []string  `json:"scopes,omitempty"`
	InstallerUserID     string    `json:"installer_user_id,omitempty"`
	InstalledAt         time.Time `json:"installed_at"`
}

// TeamKey is the installation key of a workspace-level install.
func TeamKey(teamID string) string { return "team:" + teamID }

// EnterpriseKey is the installation key of an org-wide Enterprise Grid install.
func EnterpriseKey(enterpriseID string) string { return "enterprise:" + enterpriseID }

// Session is short-lived flow state (a picker, a list page, a pending
// confirmation) referenced from Slack payloads by ID.
type Session struct {
	ID     string `json:"id"`
	TeamID string `json:"team_id"`
	Data   []byte `json:"data"`
}

// Decision is what was decided about an attempted action.
type Decision string

// Audit decisions.
const (
	DecisionAllowed           Decision = "allowed"
	DecisionRefused           Decision = "refused"
	DecisionApprovalRequested Decision = "approval_requested"
	DecisionApproved          Decision = "approved"
	DecisionDenied            Decision = "denied"
	DecisionExpired           Decision = "expired" // nobody decided on an approval request in time
)

// Result is what became of an attempted action.
type Result string

// Audit results.
const (
	ResultDone        Result = "done"
	ResultFailed      Result = "failed"
	ResultRefused     Result = "refused" // nothing was done
	ResultPending     Result = "pending" // waiting for approval, or approved and about to run
	ResultInterrupted Result = "interrupted"
	// ResultSkipped: a scheduled action not carried out, because a person
	// snoozed or skipped it, or its time had passed while Charlize was down.
	ResultSkipped Result = "skipped"
)

// AuditEntry records one attempted action and what became of it.
type AuditEntry struct {
	Time         time.Time     `json:"time"`
	RequestID    string        `json:"request_id,omitempty"`
	TeamID       string        `json:"team_id,omitempty"`
	ChannelID    string        `json:"channel_id,omitempty"`
	UserID       string        `json:"user_id,omitempty"`
	Account      string        `json:"account,omitempty"`
	Region       string        `json:"region,omitempty"`
	InstanceID   string        `json:"instance_id,omitempty"`
	InstanceName string        `json:"instance_name,omitempty"`
	Alarm        string        `json:"alarm,omitempty"` // the CloudWatch alarm acknowledged
	Action       action.Action `json:"action"`
	Decision     Decision      `json:"decision,omitempty"`
	Rule         string        `json:"rule,omitempty"`
	ApprovedBy   string        `json:"approved_by,omitempty"` // second person of a two-person action
	Result       Result        `json:"result,omitempty"`
	Error        string        `json:"error,omitempty"`
	Duration     time.Duration `json:"duration,omitempty"`
	// Detail says what a schedule entry did ("snoozed until 21:00",
	// "late by 12m").
	Detail string `json:"detail,omitempty"`
}

// ActionRecord is a durable action: the app's record of it, kept so that
// whichever replica runs it, and any replica that outlives that one, can
// carry it to its end. The store reads only ID, TeamID and Open.
type ActionRecord struct {
	ID     string `json:"id"`
	TeamID string `json:"team_id"`
	// Open means the action has not ended: OpenActions lists it until it is
	// saved closed or expires.
	Open bool   `json:"open"`
	Data []byte `json:"data"`
}

// ScheduleRecord is a schedule created in Slack: the app's record of it.
// The store reads only Name, which is unique.
type ScheduleRecord struct {
	Name string `json:"name"`
	Data []byte `json:"data"`
}

// Snooze postpones the scheduled stops of one instance, or skips one of
// them: the app's record of it, kept until it ends. The store reads only
// Instance (the instance's key), of which there is one snooze at a time.
type Snooze struct {
	Instance string `json:"instance"`
	Data     []byte `json:"data"`
}

// Notice is a message Charlize posted on its own (an alarm, a maintenance
// notice, a summary of many state changes, an event it reported), kept so
// that any replica finds it again by Key to edit it. The store reads only
// Key; Data is the app's.
type Notice struct {
	Key  string `json:"key"`
	Data []byte `json:"data"`
}

// Store is everything Charlize keeps. Implementations are safe for
// concurrent use, and expired values are never returned.
type Store interface {
	SaveInstallation(ctx context.Context, inst Installation) error
	// Installation returns ErrNotFound when key has no installation.
	Installation(ctx context.Context, key string) (Installation, error)
	// DeleteInstallation is a no-op when key has no installation.
	DeleteInstallation(ctx context.Context, key string) error

	PutSession(ctx context.Context, s Session, ttl time.Duration) error
	// Session returns ErrNotFound when id is unknown or expired.
	Session(ctx context.Context, id string) (Session, error)
	DeleteSession(ctx context.Context, id string) error
	// DeleteTeamSessions removes every session of teamID (on uninstall).
	DeleteTeamSessions(ctx context.Context, teamID string) error

	// Claim makes holder the owner of key for ttl unless someone already
	// owns it. Exactly one of any number of concurrent callers wins.
	// won reports whether this caller owns it; current is the owner. A
	// holder that already owns key does not win it again (won is false,
	// current is that holder): a claim is taken once.
	Claim(ctx context.Context, key, holder string, ttl time.Duration) (won bool, current string, err error)
	// ReleaseClaim frees key if holder still owns it.
	ReleaseClaim(ctx context.Context, key, holder string) error
	// RenewClaim extends holder's live claim on key to ttl from now, which
	// makes a claim a lease; it reports false (and changes nothing) when
	// the claim has expired or someone else holds it.
	RenewClaim(ctx context.Context, key, holder string, ttl time.Duration) (bool, error)

	// SaveAction stores a for ttl, replacing any earlier version.
	SaveAction(ctx context.Context, a ActionRecord, ttl time.Duration) error
	// Action returns ErrNotFound when id is unknown or expired.
	Action(ctx context.Context, id string) (ActionRecord, error)
	// OpenActions returns every unexpired action saved open, in no order.
	OpenActions(ctx context.Context) ([]ActionRecord, error)

	// SaveSchedule stores s under its name, replacing any earlier version.
	SaveSchedule(ctx context.Context, s ScheduleRecord) error
	// Schedules returns every schedule, ordered by name.
	Schedules(ctx context.Context) ([]ScheduleRecord, error)
	// DeleteSchedule is a no-op when there is no schedule name.
	DeleteSchedule(ctx context.Context, name string) error

	// SaveSnooze stores s for ttl, replacing the instance's earlier snooze.
	SaveSnooze(ctx context.Context, s Snooze, ttl time.Duration) error
	// Snoozes returns every unexpired snooze, in no order.
	Snoozes(ctx context.Context) ([]Snooze, error)
	// DeleteSnooze is a no-op when the instance has no snooze.
	DeleteSnooze(ctx context.Context, instance string) error
	// SaveNotice stores n for ttl under n.Key, replacing any earlier one.
	SaveNotice(ctx context.Context, n Notice, ttl time.Duration) error
	// Notice returns ErrNotFound when key is unknown or expired.
	Notice(ctx context.Context, key string) (Notice, error)
	// AppendGroup appends item to the group key, creating it for ttl when
	// it is absent (an existing group keeps its expiry), and returns the
	// group's length after the append. Concurrent appends all land, each
	// seeing a different length.
	AppendGroup(ctx context.Context, key string, item []byte, ttl time.Duration) (int, error)
	// Group returns the group's items in append order; ErrNotFound when
	// key is unknown or expired.
	Group(ctx context.Context, key string) ([][]byte, error)
	// TakeNumber takes the next number of the counter key, at least from,
	// and moves the counter past it: concurrent callers all take different
	// numbers. A counter lives ttl after its last take, then starts over.
	TakeNumber(ctx context.Context, key string, from int64, ttl time.Duration) (int64, error)

	// PutOAuthState stores a single-use OAuth state value.
	PutOAuthState(ctx context.Context, state string, data []byte, ttl time.Duration) error
	// ConsumeOAuthState returns the state's data and deletes it; a second
	// call, an unknown or an expired state returns ErrNotFound.
	ConsumeOAuthState(ctx context.Context, state string) ([]byte, error)

	// AppendAudit adds an entry; the oldest entries are dropped past the
	// store's limit.
	AppendAudit(ctx context.Context, e AuditEntry) error
	// RecentAudit returns at most n entries, newest first.
	RecentAudit(ctx context.Context, n int) ([]AuditEntry, error)

	// Clock is the time by the store's clock, which every process sharing
	// the store reads alike (Redis's TIME; the embedded store's is its own
	// process's): what replicas pace shared work by, whatever their own
	// clocks say.
	Clock(ctx context.Context) (time.Time, error)

	// Ping reports whether the store can serve requests (readiness).
	Ping(ctx context.Context) error
	Close() error
}
