package app

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/charlize-app/charlize/ec2ops"
	"github.com/charlize-app/charlize/ec2ops/action"
	"github.com/charlize-app/charlize/store"
)

// flowState is what a rendered message or modal refers to through the
// values of its buttons: the instances it shows, where it lives and who
// asked. Buttons carry "<session id>.<item index>"; the session id is a
// random nonce, so a value can only name what Charlize rendered.
type flowState struct {
	// Kind is the flow that saved it; every consumer names the kinds it
	// reads, so a value from one flow is never taken by another.
	Kind        flowKind `json:"kind"`
	TeamID      string   `json:"team_id"`
	ChannelID   string   `json:"channel_id,omitempty"`
	UserID      string   `json:"user_id,omitempty"`
	ResponseURL string   `json:"response_url,omitempty"`
	Query       string   `json:"query,omitempty"` // a listing's query, as typed
	// Action is what a matches chooser or an approval request is about.
	Action   action.Action     `json:"action,omitempty"`
	Page     int               `json:"page,omitempty"`
	Items    []ec2ops.Instance `json:"items,omitempty"`
	Failures []string          `json:"failures,omitempty"`
	// Shared messages are seen by the whole channel: their buttons are not
	// filtered for one viewer, the policy decides at click time.
	Shared bool `json:"shared,omitempty"`
	// Approval requests: the rule that asked for them, when they expire,
	// and where the request was posted.
	Rule      string    `json:"rule,omitempty"`
	ExpiresAt time.Time `json:"expires_at,omitzero"`
	Posted    origin    `json:"posted,omitzero"`
	// ClickKey is the claim of the click that asked for approval, held by
	// UserID; a denial or expiry releases it so the button works again.
	ClickKey string `json:"click_key,omitempty"`
	// Terminate modals remember the message whose button opened them.
	Origin origin `json:"origin,omitzero"`
}

// flowKind is the flow a session belongs to.
type flowKind string

// The flows that keep sessions. Action records (record.go) carry kind
// "action" in the same field.
const (
	kindList      flowKind = "list"      // a listing: its instances' buttons, Previous / Next, Refresh
	kindCard      flowKind = "card"      // one instance's card, or an action's result: its buttons
	kindMatches   flowKind = "matches"   // several matches to choose from
	kindPicker    flowKind = "picker"    // the picker modal's private_metadata
	kindTerminate flowKind = "terminate" // the terminate modal's private_metadata
)

// wrongFlowError refuses a value saved by one flow and presented to
// another (a card's button value as terminate-modal metadata, say). Users
// read it as an unreadable button; it is audited, as it means a forged or
// replayed value.
type wrongFlowError struct {
	id     string
	got    flowKind
	want   []flowKind
	action action.Action // what the value was presented for
}

func (e *wrongFlowError) Error() string {
	return fmt.Sprintf("session %s is a %q, presented to %s which reads %v", e.id, e.got, e.action, e.want)
}

// Unwrap makes it an errBadValue to the one error path.
func (e *wrongFlowError) Unwrap() error { return errBadValue }

// origin is the message that held a button.
type origin struct {
	ChannelID   string `json:"channel_id,omitempty"`
	TS          string `json:"ts,omitempty"`
	Ephemeral   bool   `json:"ephemeral,omitempty"`
	ResponseURL string `json:"response_url,omitempty"`
}

func (d *Dispatcher) saveFlow(ctx context.Context, st flowState) (string, error) {
	id := uuid.NewString()
	if err := d.putFlow(ctx, id, st); err != nil {
		return "", err
	}
	return id, nil
}

func (d *Dispatcher) putFlow(ctx context.Context, id string, st flowState) error {
	ttl := d.sessionTTL
	if !st.ExpiresAt.IsZero() {
		// Outlive the approval's expiry, so a late click can say it expired.
		ttl = max(ttl, st.ExpiresAt.Sub(d.now())+time.Hour)
	}
	data, err := encodeFlow(st)
	if err != nil {
		return fmt.Errorf("encode session: %w", err)
	}
	if err := d.store.PutSession(ctx, store.Session{ID: id, TeamID: st.TeamID, Data: data}, ttl); err != nil {
		return fmt.Errorf("save session: %w", err)
	}
	return nil
}

// loadFlow returns the session id refers to, refusing one that expired,
// that belongs to another workspace than team, or that no flow of the
// kinds given saved; a is what the value was presented for.
func (d *Dispatcher) loadFlow(ctx context.Context, id, team string, a action.Action, kinds ...flowKind) (flowState, error) {
	var st flowState
	s, err := d.store.Session(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		// An action record's id (an approval request's value) is no flow.
		if _, aerr := d.store.Action(ctx, id); aerr == nil {
			return st, &wrongFlowError{id: id, got: recordKind, want: kinds, action: a}
		}
		return st, errExpired
	}
	if err != nil {
		return st, fmt.Errorf("load session: %w", err)
	}
	if s.TeamID != team {
		return st, errForeignTeam
	}
	if st, err = decodeFlow(s.Data); err != nil {
		return st, fmt.Errorf("decode session: %w", err)
	}
	if st.TeamID != team {
		return st, errForeignTeam
	}
	if !slices.Contains(kinds, st.Kind) {
		return flowState{}, &wrongFlowError{id: id, got: st.Kind, want: kinds, action: a}
	}
	return st, nil
}

// compressAbove is the size past which a session is gzipped: a listing of
// thousands of instances is about 300 bytes of JSON each, kept for a day,
// and compresses about tenfold.
const compressAbove = 8 << 10

// encodeFlow is st's JSON, gzipped when large. JSON starts with '{' and
// gzip with 0x1f, so decodeFlow tells them apart.
func encodeFlow(st flowState) ([]byte, error) {
	data, err := json.Marshal(st)
	if err != nil || len(data) <= compressAbove {
		return data, err
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(data); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func decodeFlow(data []byte) (flowState, error) {
	var st flowState
	if len(data) > 0 && data[0] == 0x1f {
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			return st, err
		}
		defer zr.Close()
		err = json.NewDecoder(zr).Decode(&st)
		return st, err
	}
	err := json.Unmarshal(data, &st)
	return st, err
}

// itemValue is the button value for item n of session id.
func itemValue(id string, n int) string { return id + "." + strconv.Itoa(n) }

// parseSessionID checks that a button value names a session as
// saveFlow does; anything else is refused before the store is asked.
func parseSessionID(v string) (string, error) {
	if _, err := uuid.Parse(v); err != nil {
		return "", errBadValue
	}
	return v, nil
}

// parseItemValue splits a button value; anything malformed is refused.
func parseItemValue(v string) (id string, n int, err error) {
	id, idx, ok := strings.Cut(v, ".")
	if !ok || id == "" {
		return "", 0, errBadValue
	}
	if _, err := parseSessionID(id); err != nil {
		return "", 0, err
	}
	n, err = strconv.Atoi(idx)
	if err != nil || n < 0 {
		return "", 0, errBadValue
	}
	return id, n, nil
}

// loadItem resolves a "<session>.<n>" button value clicked in team to its
// session (of one of kinds) and instance, for action a.
func (d *Dispatcher) loadItem(ctx context.Context, team, value string, a action.Action, kinds ...flowKind) (st flowState, id string, n int, inst ec2ops.Instance, err error) {
	id, n, err = parseItemValue(value)
	if err != nil {
		return st, "", 0, inst, err
	}
	st, err = d.loadFlow(ctx, id, team, a, kinds...)
	if err != nil {
		return st, "", 0, inst, err
	}
	inst, err = st.item(n)
	return st, id, n, inst, err
}

// item returns instance n of st.
func (st flowState) item(n int) (ec2ops.Instance, error) {
	if n < 0 || n >= len(st.Items) {
		return ec2ops.Instance{}, errBadValue
	}
	return st.Items[n], nil
}

// instanceKey names one instance across accounts and regions.
func instanceKey(i ec2ops.Instance) string {
	return i.Account + "/" + i.Region + "/" + i.ID
}
