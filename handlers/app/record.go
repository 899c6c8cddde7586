package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/charlize-app/charlize/ec2ops"
	"github.com/charlize-app/charlize/ec2ops/action"
	"github.com/charlize-app/charlize/handlers/policy"
	"github.com/charlize-app/charlize/handlers/slackclient"
	"github.com/charlize-app/charlize/store"
)

// recordState is where an action is in its life.
type recordState string

const (
	stateAwaitingApproval recordState = "awaiting_approval"
	stateQueued           recordState = "queued"
	stateActing           recordState = "acting"  // the AWS call may have been sent
	stateWaiting          recordState = "waiting" // for the instance to reach its state
	stateSettled          recordState = "settled"
)

// actionRecord is one requested action, from the click that asked for it
// to how it ended. It is written before the click is acknowledged; the
// click's claim names it, so a second press of the same button finds out
// whether the action still runs or how it ended, and who asked. An approval
// request is the record of its action while it waits: its buttons carry the
// record's id.
type actionRecord struct {
	Kind       string          `json:"kind"` // recordKind, so no other flow's value is read as one
	ID         string          `json:"id"`
	State      recordState     `json:"state"`
	Action     action.Action   `json:"action"`
	Instance   ec2ops.Instance `json:"instance"`
	TeamID     string          `json:"team_id"`
	Enterprise string          `json:"enterprise_id,omitempty"`
	Requester  string          `json:"requester"`
	Approver   string          `json:"approver,omitempty"`
	// RequesterTeam and ApproverTeam are a Slack Connect user's own team
	// (empty for the workspace's own people), so that the policy decides
	// for them as the external users they are when the action runs too.
	RequesterTeam string `json:"requester_team,omitempty"`
	ApproverTeam  string `json:"approver_team,omitempty"`
	Channel       string `json:"channel,omitempty"`
	// Rule is the policy rule that allowed the action (and, once approved,
	// the approver's); Approval is the two-person rule that applies.
	Rule     string           `json:"rule,omitempty"`
	Approval *policy.Approval `json:"approval,omitempty"`
	// ExpiresAt is when an approval request closes undecided; DecidedBy
	// is who approved or denied it.
	ExpiresAt time.Time `json:"expires_at,omitzero"`
	DecidedBy string    `json:"decided_by,omitempty"`
	// Origin is the message whose button asked; Request is the approval
	// request posted in the channel; Progress is the channel message that
	// shows the action under way and its result.
	Origin   origin `json:"origin,omitzero"`
	Request  origin `json:"request,omitzero"`
	Progress origin `json:"progress,omitzero"`
	// Phase is the AWS call last announced as about to be sent (a restart
	// sends stop, then start): a replica taking the action over resumes
	// from it.
	Phase action.Action `json:"phase,omitempty"`
	// Scheduled is set on an action the scheduler started: its schedule,
	// occurrence and the message that reports it.
	Scheduled *scheduledAction `json:"scheduled,omitempty"`
	// ClickKey is the claim of the button that asked.
	ClickKey    string    `json:"click_key"`
	RequestedAt time.Time `json:"requested_at"`

	// How it ended.
	Decision  store.Decision `json:"decision,omitempty"`
	Result    store.Result   `json:"result,omitempty"`
	Outcome   string         `json:"outcome,omitempty"` // what users read, when not done
	SettledAt time.Time      `json:"settled_at,omitzero"`
}

const recordKind = "action"

// holder is what the record's claims hold: its id, and the requester, so
// that whoever loses a claim can say by whom without reading the record.
func (r *actionRecord) holder() string { return r.ID + "/" + r.Requester }

// unposted reports whether r waits for an approval whose request was
// never posted (its replica died in between).
func (r *actionRecord) unposted() bool {
	return r.State == stateAwaitingApproval && r.Request.TS == ""
}

// parseHolder splits a claim holder into the record id and the requester;
// a claim taken before records existed holds the user alone.
func parseHolder(holder string) (id, user string) {
	if id, user, ok := strings.Cut(holder, "/"); ok {
		return id, user
	}
	return "", holder
}

func (r *actionRecord) team() slackclient.Team {
	return slackclient.Team{ID: r.TeamID, EnterpriseID: r.Enterprise}
}

// ttl keeps a record as long as a button that names it works, and past an
// approval's expiry so a late click can say it expired.
func (d *Dispatcher) recordTTL(r *actionRecord) time.Duration {
	ttl := d.sessionTTL
	if !r.ExpiresAt.IsZero() {
		ttl = max(ttl, r.ExpiresAt.Sub(d.now())+time.Hour)
	}
	return ttl
}

func (d *Dispatcher) saveRecord(ctx context.Context, r *actionRecord) error {
	r.Kind = recordKind
	data, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("encode action %s: %w", r.ID, err)
	}
	a := store.ActionRecord{ID: r.ID, TeamID: r.TeamID, Open: r.State != stateSettled, Data: data}
	if err := d.store.SaveAction(ctx, a, d.recordTTL(r)); err != nil {
		return fmt.Errorf("save action %s: %w", r.ID, err)
	}
	return nil
}

// loadRecord returns the record id names, refusing one that expired, that
// belongs to another workspace than team ("" = any), or that is not an
// action record at all.
func (d *Dispatcher) loadRecord(ctx context.Context, id, team string) (*actionRecord, error) {
	a, err := d.store.Action(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		// A flow session's id (a card's value) is no action record.
		if s, serr := d.store.Session(ctx, id); serr == nil {
			if st, derr := decodeFlow(s.Data); derr == nil {
				return nil, &wrongFlowError{id: id, got: st.Kind, want: []flowKind{recordKind}}
			}
		}
		return nil, errExpired
	}
	if err != nil {
		return nil, fmt.Errorf("load action %s: %w", id, err)
	}
	r, err := decodeRecord(a)
	if err != nil {
		return nil, err
	}
	if team != "" && (a.TeamID != team || r.TeamID != team) {
		return nil, errForeignTeam
	}
	return r, nil
}

func decodeRecord(a store.ActionRecord) (*actionRecord, error) {
	var r actionRecord
	if err := json.Unmarshal(a.Data, &r); err != nil || r.ID != a.ID {
		return nil, errBadValue
	}
	if r.Kind != recordKind {
		return nil, &wrongFlowError{id: a.ID, got: flowKind(r.Kind), want: []flowKind{recordKind}}
	}
	return &r, nil
}
