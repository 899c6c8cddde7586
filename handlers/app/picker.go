package app

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/charlize-app/charlize/blocks"
	"github.com/charlize-app/charlize/ec2ops"
	"github.com/charlize-app/charlize/ec2ops/action"
	"github.com/charlize-app/charlize/handlers/reqctx"
	"github.com/charlize-app/charlize/handlers/slackclient"
)

// How long type-ahead waits for a cold inventory (Slack shows nothing after
// about 3 s), and how long name resolution may wait after the ack.
const (
	suggestWait   = 1500 * time.Millisecond
	inventoryWait = 20 * time.Second
)

// pickerTarget is where the picker's result goes.
type pickerTarget struct {
	team        slackclient.Team
	channel     string
	user        string
	responseURL string
}

// openPickerCommand answers a bare /charlize at once and opens the picker
// just after. The trigger_id's 3 s run from Slack's request either way, but
// an answer held for views.open is one that Slack's own slowness can push
// past its 3 s, and the person then reads "operation_timeout" under a modal
// that may well have opened. What can refuse the picker before Slack is
// asked (no accounts, not installed) is still the answer; a refused
// views.open reaches the person through the command's response_url.
func (d *Dispatcher) openPickerCommand(ctx context.Context, cmd slack.SlashCommand) (Ack, error) {
	open, err := d.preparePicker(ctx, pickerTarget{
		team: slackclient.Team{ID: cmd.TeamID, EnterpriseID: cmd.EnterpriseID}, channel: cmd.ChannelID, user: cmd.UserID, responseURL: cmd.ResponseURL,
	})
	if err != nil {
		return Ack{}, err
	}
	// The answer was empty: there is no message to replace, so a refusal
	// comes as a new private one.
	r := d.replyToCommand(cmd)
	err = d.workers.Go(ctx, func(ctx context.Context) {
		if err := open(ctx, cmd.TriggerID); err != nil {
			r.private(ctx, d.failure(ctx, "command picker", err))
		}
	})
	if err != nil {
		return Ack{}, open(ctx, cmd.TriggerID) // no worker free: within the request, then
	}
	return Ack{}, nil
}

// pickerButton opens the picker from a button (a mention's reply).
func (d *Dispatcher) pickerButton(ctx context.Context, cb slack.InteractionCallback, _ pressed) error {
	open, err := d.preparePicker(ctx, pickerTarget{
		team: slackclient.Team{ID: cb.Team.ID, EnterpriseID: cb.Enterprise.ID}, channel: channelOf(cb), user: cb.User.ID, responseURL: cb.ResponseURL,
	})
	if err != nil {
		return err
	}
	return open(ctx, cb.TriggerID)
}

// preparePicker builds the picker modal for t and returns what opens it.
// The trigger_id lives 3 s, and the accounts the picker offers come from
// configuration, so no AWS (or user group) call stands in the way; the
// policy decides on what the picker suggests and lists. The inventory
// warms up once it is open.
func (d *Dispatcher) preparePicker(ctx context.Context, t pickerTarget) (open func(ctx context.Context, triggerID string) error, err error) {
	if d.fleet == nil {
		return nil, errNoFleet
	}
	api, err := d.clients.Client(ctx, t.team)
	if err != nil {
		return nil, err
	}
	visible := d.visibleAccountsOf(t.team.ID)
	if len(visible) == 0 {
		return nil, errNoAccountsHere
	}
	id, err := d.pickerMetadata(ctx, flowState{Kind: kindPicker, TeamID: t.team.ID, ChannelID: t.channel, UserID: t.user, ResponseURL: t.responseURL})
	if err != nil {
		return nil, err
	}
	accounts := make([]blocks.PickerAccount, len(visible))
	names := make([]string, len(visible))
	for i, a := range visible {
		accounts[i] = blocks.PickerAccount{Name: a.Name, Regions: a.Regions}
		names[i] = a.Name
	}
	view, err := d.pickerView(accounts, id)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, triggerID string) error {
		if err := api.OpenViewJSON(ctx, triggerID, view...); err != nil {
			return d.viewsOpenError(ctx, "picker", err)
		}
		d.inventory.get(ctx, names, 0)
		return nil
	}, nil
}

// pickerView is the picker modal over the visible accounts, as JSON in
// three pieces: the encoded parts around its metadata. All but the
// metadata depends on the accounts alone, so it is built and encoded once
// per set of accounts (per workspace, in effect) rather than on every
// /charlize; views.open copies the pieces once, into its request.
func (d *Dispatcher) pickerView(accounts []blocks.PickerAccount, metadata string) ([][]byte, error) {
	key := make([]byte, 0, 256)
	for _, a := range accounts {
		key = strconv.AppendQuote(key, a.Name)
		for _, r := range a.Regions {
			key = strconv.AppendQuote(key, r)
		}
		key = append(key, ';')
	}
	d.pickerMu.Lock()
	view, ok := d.pickerViews[string(key)]
	if !ok {
		var err error
		if view, err = encodeView(blocks.Picker(blocks.PickerView{Accounts: accounts, PrivateMetadata: metadataMark})); err != nil {
			d.pickerMu.Unlock()
			return nil, fmt.Errorf("encode picker: %w", err)
		}
		if len(d.pickerViews) >= maxPickerViews {
			clear(d.pickerViews) // accounts changed many times: start over
		}
		d.pickerViews[string(key)] = view
	}
	d.pickerMu.Unlock()
	return view.with(metadata), nil
}

// metadataMark stands for a view's private_metadata while it is encoded.
const metadataMark = "\x00charlize:private_metadata\x00"

// encodedView is a view's JSON, cut where its private_metadata goes.
type encodedView struct{ before, after []byte }

func encodeView(view slack.ModalViewRequest) (encodedView, error) {
	if !slack.ValidateUniqueBlockID(view) {
		return encodedView{}, slack.ErrBlockIDNotUnique
	}
	raw, err := json.Marshal(view)
	if err != nil {
		return encodedView{}, err
	}
	return cutAtMark(raw, metadataMark)
}

// cutAtMark cuts raw where the JSON string mark is.
func cutAtMark(raw []byte, mark string) (encodedView, error) {
	quoted, _ := json.Marshal(mark)
	before, after, ok := bytes.Cut(raw, quoted)
	if !ok {
		return encodedView{}, errors.New("the encoding lost its mark")
	}
	return encodedView{before: before, after: after}, nil
}

// with is the view with metadata in its place, in pieces.
func (v encodedView) with(metadata string) [][]byte {
	quoted, _ := json.Marshal(metadata) // a string always encodes
	return [][]byte{v.before, quoted, v.after}
}

// maxPickerViews bounds the frozen pickers kept: one per distinct set of
// visible accounts, which policies and organization refreshes change.
const maxPickerViews = 64

// pickerMetadata is the picker's private_metadata: where its result goes
// (channel, response_url), carried by the modal itself. Slack hands it back
// untouched with the submission and no user can change it, so opening a
// picker, what users do most, writes nothing to the store. Only state too
// long for the field goes to a session, whose id is then the metadata.
func (d *Dispatcher) pickerMetadata(ctx context.Context, st flowState) (string, error) {
	raw, err := json.Marshal(st)
	if err != nil {
		return "", fmt.Errorf("encode picker: %w", err)
	}
	if len(raw) <= blocks.MaxPrivateMetadata {
		return string(raw), nil
	}
	return d.saveFlow(ctx, st)
}

// pickerState reads pickerMetadata back, refusing a picker of another
// workspace as loadFlow does.
func (d *Dispatcher) pickerState(ctx context.Context, metadata, team string) (flowState, error) {
	if !strings.HasPrefix(metadata, "{") {
		return d.loadFlow(ctx, metadata, team, action.List, kindPicker) // a session id
	}
	var st flowState
	if err := json.Unmarshal([]byte(metadata), &st); err != nil {
		return flowState{}, errBadValue
	}
	if st.Kind != kindPicker {
		return flowState{}, &wrongFlowError{id: "private_metadata", got: st.Kind, want: []flowKind{kindPicker}, action: action.List}
	}
	if st.TeamID != team {
		return flowState{}, errForeignTeam
	}
	return st, nil
}

// viewsOpenError words a views.open failure; for an expired trigger it
// logs how long after the request views.open was called, which is what an
// operator needs to see to find the slow step.
func (d *Dispatcher) viewsOpenError(ctx context.Context, what string, err error) error {
	// views.open says expired_trigger_id (dialog.open said trigger_expired).
	if code := slackclient.ErrorCode(err); code != "expired_trigger_id" && code != "trigger_expired" {
		return fmt.Errorf("open %s: %w", what, err)
	}
	attrs := []any{"request_id", reqctx.ID(ctx), "modal", what}
	if at := reqctx.ReceivedAt(ctx); !at.IsZero() {
		attrs = append(attrs, "since_request", d.now().Sub(at))
	}
	d.log.WarnContext(ctx, "trigger_id expired before views.open", attrs...)
	return fmt.Errorf("open %s: %w", what, errTriggerExpired)
}

// optionsAnswer is Slack's block_suggestion answer; unlike
// slack.OptionsResponse it keeps "options": [] when nothing matches.
type optionsAnswer struct {
	Options []*slack.OptionBlockObject `json:"options"`
}

// suggestAccounts fills the picker's account select when there are more
// accounts than a static select holds: the visible accounts whose name
// contains what was typed, those starting with it first.
func (d *Dispatcher) suggestAccounts(ctx context.Context, cb slack.InteractionCallback) optionsAnswer {
	needle := strings.ToLower(strings.TrimSpace(cb.Value))
	var first, rest []string
	for _, name := range d.visibleAccounts(cb.Team.ID) {
		switch lower := strings.ToLower(name); {
		case strings.HasPrefix(lower, needle):
			first = append(first, name)
		case strings.Contains(lower, needle):
			rest = append(rest, name)
		}
	}
	return optionsAnswer{Options: blocks.AccountOptions(append(first, rest...))}
}

// suggest answers type-ahead from the cached inventory, narrowed by the
// account and region already chosen in the picker.
func (d *Dispatcher) suggest(ctx context.Context, cb slack.InteractionCallback) optionsAnswer {
	answer := optionsAnswer{Options: []*slack.OptionBlockObject{}}
	if cb.ActionID != blocks.PickerSearchAction || d.inventory == nil {
		return answer
	}
	account := selected(cb.View.State, blocks.PickerAccountBlock, blocks.PickerAccountAction)
	region := selected(cb.View.State, blocks.PickerRegionBlock, blocks.PickerRegionAction)
	needle := strings.ToLower(strings.TrimSpace(cb.Value))
	var views []blocks.InstanceView
	var values []string
	v := d.viewerOfCallback(ctx, cb)
	for _, i := range d.inventory.get(ctx, d.visibleAccounts(cb.Team.ID), suggestWait) {
		if len(views) == blocks.MaxOptions {
			break
		}
		if !d.decide(v, "list", i).Allowed {
			continue
		}
		if account != "" && i.Account != account || region != "" && i.Region != region {
			continue
		}
		if strings.Contains(strings.ToLower(i.Name), needle) || strings.Contains(i.ID, needle) {
			views = append(views, instanceView(i, ""))
			values = append(values, pickedValue(i))
		}
	}
	if len(views) > 0 {
		answer.Options = blocks.Options(views, values).Options
	}
	return answer
}

// pickedValue names an instance in a select option (≤150 characters).
func pickedValue(i ec2ops.Instance) string { return i.Account + "|" + i.Region + "|" + i.ID }

func selected(state *slack.ViewState, block, action string) string {
	if state == nil {
		return ""
	}
	v, ok := state.Values[block][action]
	if !ok {
		return ""
	}
	return v.SelectedOption.Value
}

// submitPicker closes the modal and posts the matching instances in the
// channel the picker was opened from.
func (d *Dispatcher) submitPicker(ctx context.Context, cb slack.InteractionCallback) (Ack, error) {
	st, err := d.pickerState(ctx, cb.View.PrivateMetadata, cb.Team.ID)
	if err != nil {
		return Ack{}, err
	}
	var q ec2ops.Query
	if a := selected(cb.View.State, blocks.PickerAccountBlock, blocks.PickerAccountAction); a != "" {
		q.Accounts = []string{a}
	}
	if r := selected(cb.View.State, blocks.PickerRegionBlock, blocks.PickerRegionAction); r != "" {
		q.Regions = []string{r}
	}
	if s := selected(cb.View.State, blocks.PickerStateBlock, blocks.PickerStateAction); s != "" {
		q.States = []string{s}
	}
	if v := selected(cb.View.State, blocks.PickerSearchBlock, blocks.PickerSearchAction); v != "" {
		parts := strings.Split(v, "|")
		if len(parts) != 3 {
			return Ack{}, errBadValue
		}
		q.Accounts, q.Regions, q.IDs = parts[:1], parts[1:2], parts[2:]
	}
	team := slackclient.Team{ID: cb.Team.ID, EnterpriseID: cb.Enterprise.ID}
	// The modal has no response_url: the picker kept the one of the
	// command or button that opened it.
	via := &reply{d: d, team: team, channel: st.ChannelID, responseURL: st.ResponseURL, mode: shareInChannel}
	return Ack{}, d.later(ctx, "picker", via, func(ctx context.Context) (slack.WebhookMessage, error) {
		v := d.viewerOf(ctx, team, cb.User.ID, st.ChannelID)
		return d.listMessage(ctx, v, st.ResponseURL, q.String(), q, true)
	})
}
