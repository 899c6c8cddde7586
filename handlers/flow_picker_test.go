package handlers_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/charlize-app/charlize/blocks"
	"github.com/charlize-app/charlize/handlers/slacktest"
)

// `/charlize` alone opens the picker; type-ahead finds instances even
// before the inventory is warm; submitting lists in the channel.
func TestPicker(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{})

	// Type-ahead on a cold inventory still answers with matches.
	rep := w.suggest(alice, "web", nil)
	var opts struct {
		Options []slack.OptionBlockObject `json:"options"`
	}
	rep.json(t, &opts)
	if rep.status != http.StatusOK || len(opts.Options) != 2 || !strings.Contains(string(rep.body), "web-1") || !strings.Contains(string(rep.body), "web-2") {
		t.Fatalf("block_suggestion web = %d %s, want web-1 and web-2", rep.status, rep.body)
	}
	if err := blocks.CheckOptions(&slack.OptionsResponse{Options: ptrs(opts.Options)}); err != nil {
		t.Errorf("options break Block Kit limits: %v", err)
	}
	// Narrowed by the account already chosen.
	rep = w.suggest(alice, "1", map[string]map[string]any{blocks.PickerAccountBlock: {blocks.PickerAccountAction: selectedOption("acme-dev")}})
	if body := string(rep.body); !strings.Contains(body, "dev-1") || strings.Contains(body, "web-1") {
		t.Errorf("block_suggestion 1 in acme-dev = %s, want dev-1 only", body)
	}

	status, ack := w.command(alice, "", "picker1")
	if status != http.StatusOK || ack.Text != "" {
		t.Fatalf("/charlize = %d %+v, want an empty 200", status, ack)
	}
	picker := w.openedView("views.open", 1)
	if picker.CallbackID != blocks.PickerCallbackID || !strings.Contains(viewText(picker), blocks.PickerSearchAction) {
		t.Fatalf("views.open = %s, want the picker", viewText(picker))
	}

	rep = w.submitView(alice, picker, map[string]map[string]any{
		blocks.PickerAccountBlock: {blocks.PickerAccountAction: selectedOption("acme-prod")},
		blocks.PickerStateBlock:   {blocks.PickerStateAction: selectedOption("running")},
	})
	if rep.status != http.StatusOK || len(rep.body) != 0 {
		t.Fatalf("picker submit = %d %q, want an empty 200 (modal closes)", rep.status, rep.body)
	}
	posted := w.waitForText("chat.postMessage", "web-1", 10*time.Second)
	if posted.Form.Get("channel") != channel {
		t.Errorf("list posted in %q, want the command's channel %s", posted.Form.Get("channel"), channel)
	}
	text := callText(posted)
	for _, want := range []string{"web-1", "web-2", "db-1"} {
		if !strings.Contains(text, want) {
			t.Errorf("list lacks %s: %s", want, short(text))
		}
	}
	for _, not := range []string{"old-1", "dev-1"} {
		if strings.Contains(text, not) {
			t.Errorf("list shows %s, which is not running in acme-prod", not)
		}
	}
	if err := blocks.CheckMessage(posted.Blocks); err != nil {
		t.Errorf("posted list breaks Block Kit limits: %v", err)
	}
}

// When the bot may not post in the channel, the picker's list reaches the
// user through the command's response_url, saying how to invite the bot.
func TestPickerListFallsBackToResponseURL(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{})
	w.command(alice, "", "picker1")
	picker := w.openedView("views.open", 1)
	w.slack.Fail("chat.postMessage", "not_in_channel", 1)
	rep := w.submitView(alice, picker, map[string]map[string]any{
		blocks.PickerAccountBlock: {blocks.PickerAccountAction: selectedOption("acme-prod")},
		blocks.PickerStateBlock:   {blocks.PickerStateAction: selectedOption("running")},
	})
	if rep.status != http.StatusOK {
		t.Fatalf("picker submit = %d %s", rep.status, rep.body)
	}
	got := w.waitForURLText("picker1", "web-1", 10*time.Second)
	if !strings.Contains(messageText(got), "/invite @Charlize") {
		t.Errorf("fallback list = %s, want the invite note", short(messageText(got)))
	}
	checkRendered(t, got)
	if n := len(w.slack.Calls("chat.postMessage")); n != 1 {
		t.Errorf("chat.postMessage calls = %d, want the one refused", n)
	}
}

// A bot mention gets a threaded reply with a picker button, once per
// event however often Slack retries it; the button opens the picker.
func TestMention(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{})
	if rep := w.event([]byte(appMention), 0); rep.status != http.StatusOK {
		t.Fatalf("app_mention = %d %s", rep.status, rep.body)
	}
	reply := w.slack.WaitFor(t, "chat.postMessage", 1, 10*time.Second)[0]
	if reply.Form.Get("thread_ts") != "1515449522.000016" || reply.Form.Get("channel") != channel {
		t.Errorf("reply in channel %q thread %q, want %s thread 1515449522.000016", reply.Form.Get("channel"), reply.Form.Get("thread_ts"), channel)
	}
	if err := blocks.CheckMessage(reply.Blocks); err != nil {
		t.Errorf("reply breaks Block Kit limits: %v", err)
	}
	var open button
	for _, b := range buttons(reply.Blocks) {
		if b.actionID == blocks.ActionIDOpenPicker {
			open = b
		}
	}
	if open.actionID == "" {
		t.Fatalf("reply has no open_picker button: %s", callText(reply))
	}

	if rep := w.event([]byte(appMention), 1); rep.status != http.StatusOK {
		t.Fatalf("retried app_mention = %d %s", rep.status, rep.body)
	}
	time.Sleep(300 * time.Millisecond)
	if n := len(w.slack.Calls("chat.postMessage")); n != 1 {
		t.Errorf("chat.postMessage calls after a retry = %d, want 1", n)
	}

	// The button sits on the in-channel reply.
	if rep := w.clickFrom(alice, open, "mention1", clickFrom{messageTS: reply.TS}); rep.status != http.StatusOK {
		t.Fatalf("open_picker click = %d %s", rep.status, rep.body)
	}
	if v := w.openedView("views.open", 1); v.CallbackID != blocks.PickerCallbackID {
		t.Errorf("open_picker opened %q, want the picker", v.CallbackID)
	}
}

// appMention is Slack's app_mention delivery (../shared/slack/event-app-mention.json).
const appMention = `{
  "token": "ZZZZZZWSxiZZZ2yIvs3peJ",
  "team_id": "T0001",
  "api_app_id": "A123456",
  "event": {
    "type": "app_mention",
    "user": "U2147483697",
    "text": "<@U0LAN0Z89> stop the staging box please",
    "ts": "1515449522.000016",
    "channel": "C2147483705",
    "event_ts": "1515449522.000016"
  },
  "type": "event_callback",
  "event_id": "Ev0LAN670R",
  "event_time": 1515449522,
  "authorizations": [{"enterprise_id": null, "team_id": "T0001", "user_id": "U0LAN0Z89", "is_bot": true, "is_enterprise_install": false}],
  "is_ext_shared_channel": false
}`

func ptrs[T any](xs []T) []*T {
	out := make([]*T, len(xs))
	for i := range xs {
		out[i] = &xs[i]
	}
	return out
}

// A list the picker posted in the channel: paging and Refresh keep it in
// the channel, and a Stop click edits that very message with progress and
// the result instead of posting another.
func TestInChannelList(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{})
	w.command(alice, "", "picker1")
	picker := w.openedView("views.open", 1)
	w.submitView(alice, picker, map[string]map[string]any{
		blocks.PickerAccountBlock: {blocks.PickerAccountAction: selectedOption("acme-prod")},
	})
	posted := w.waitForText("chat.postMessage", "web-1", 10*time.Second)
	if posted.TS == "" {
		t.Fatalf("chat.postMessage answered %q", posted.Error)
	}
	list := slack.WebhookMessage{Text: posted.Form.Get("text"), Blocks: &slack.Blocks{BlockSet: posted.Blocks}}
	from := clickFrom{messageTS: posted.TS}

	w.clickFrom(bob, mustButton(t, list, "refresh", ""), "refresh1", from)
	refreshed := w.urlPost("refresh1", 10*time.Second)
	if !refreshed.ReplaceOriginal || refreshed.ResponseType != slack.ResponseTypeInChannel || !strings.Contains(messageText(refreshed), "old-1") || strings.Contains(messageText(refreshed), "dev-1") {
		t.Errorf("refresh = %s, want acme-prod's list replacing the channel message", short(messageText(refreshed)))
	}

	var stop button
	for _, b := range instanceButtons(t, list, "web-1") {
		if strings.HasPrefix(b.actionID, "act:stop") {
			stop = b
		}
	}
	if rep := w.clickFrom(bob, stop, "click1", from); rep.status != http.StatusOK {
		t.Fatalf("stop = %d %s", rep.status, rep.body)
	}
	progress := w.waitForText("chat.update", "Stopping", 10*time.Second)
	result := w.waitForText("chat.update", "web-1* stopped", 15*time.Second)
	for _, c := range []slacktest.Call{progress, result} {
		if c.Form.Get("ts") != posted.TS || c.Form.Get("channel") != channel {
			t.Errorf("chat.update edited %s/%s, want the list %s/%s", c.Form.Get("channel"), c.Form.Get("ts"), channel, posted.TS)
		}
	}
	if n := len(w.slack.Calls("chat.postMessage")); n != 1 {
		t.Errorf("chat.postMessage calls = %d, want only the list", n)
	}
	if n := w.sim.Calls("StopInstances"); n != 1 {
		t.Errorf("StopInstances calls = %d, want 1", n)
	}
}
