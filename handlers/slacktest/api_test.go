package slacktest_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/charlize-app/charlize/handlers/slacktest"
)

const token = "xoxb-test-token"

func section(text string) slack.Block {
	return slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, text, false, false), nil, nil)
}

// sectionText returns the text of b, which must be a section block.
func sectionText(t *testing.T, b slack.Block) string {
	t.Helper()
	s, ok := b.(*slack.SectionBlock)
	if !ok || s.Text == nil {
		t.Fatalf("block = %#v, want a section with text", b)
	}
	return s.Text.Text
}

// wantSlackError fails unless err is Slack's {"ok":false,"error":code}.
func wantSlackError(t *testing.T, op string, err error, code string) {
	t.Helper()
	var se slack.SlackErrorResponse
	if !errors.As(err, &se) || se.Err != code {
		t.Errorf("%s error = %v, want slack error %q", op, err, code)
	}
}

func mustPost(t *testing.T, c *slack.Client, channel string, opts ...slack.MsgOption) string {
	t.Helper()
	gotChannel, ts, err := c.PostMessageContext(context.Background(), channel, opts...)
	if err != nil {
		t.Fatalf("PostMessage(%s) error = %v", channel, err)
	}
	if gotChannel != channel {
		t.Errorf("PostMessage(%s) channel = %q, want %q", channel, gotChannel, channel)
	}
	return ts
}

func modal(callbackID, title string, blocks ...slack.Block) slack.ModalViewRequest {
	return slack.ModalViewRequest{
		Type:       slack.VTModal,
		Title:      slack.NewTextBlockObject(slack.PlainTextType, title, false, false),
		CallbackID: callbackID,
		Blocks:     slack.Blocks{BlockSet: blocks},
	}
}

func TestPostMessageThenUpdate(t *testing.T) {
	api := slacktest.NewAPI(t)
	c := slack.New(token, slack.OptionAPIURL(api.URL()+"/api/"))
	ctx := context.Background()

	ts := mustPost(t, c, "C1", slack.MsgOptionText("fallback", false), slack.MsgOptionBlocks(section("*starting*")))
	if !strings.HasPrefix(ts, "1700000000.") {
		t.Errorf("PostMessage ts = %q, want 1700000000.xxxxxx", ts)
	}
	_, _, text, err := c.UpdateMessageContext(ctx, "C1", ts, slack.MsgOptionText("done", false), slack.MsgOptionBlocks(section("*done*")))
	if err != nil {
		t.Fatalf("UpdateMessage(C1, %s) error = %v", ts, err)
	}
	if text != "done" {
		t.Errorf("UpdateMessage text = %q, want done", text)
	}

	posts := api.Calls("chat.postMessage")
	if len(posts) != 1 {
		t.Fatalf("Calls(chat.postMessage) = %d calls, want 1", len(posts))
	}
	p := posts[0]
	if p.Token != token || p.Form.Get("channel") != "C1" || p.Form.Get("text") != "fallback" || p.Status != http.StatusOK || p.Error != "" {
		t.Errorf("chat.postMessage call = token %q channel %q text %q status %d error %q", p.Token, p.Form.Get("channel"), p.Form.Get("text"), p.Status, p.Error)
	}
	if len(p.Blocks) != 1 || sectionText(t, p.Blocks[0]) != "*starting*" {
		t.Errorf("chat.postMessage blocks = %#v, want one section *starting*", p.Blocks)
	}
	updates := api.Calls("chat.update")
	if len(updates) != 1 || updates[0].Form.Get("ts") != ts || sectionText(t, updates[0].Blocks[0]) != "*done*" {
		t.Errorf("Calls(chat.update) = %+v, want one update of %s to *done*", updates, ts)
	}

	tests := []struct {
		name, channel, ts string
	}{
		{"unknown ts", "C1", "1.000000"},
		{"other channel", "C2", ts},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, _, err := c.UpdateMessageContext(ctx, tt.channel, tt.ts, slack.MsgOptionText("x", false))
			wantSlackError(t, fmt.Sprintf("UpdateMessage(%s, %s)", tt.channel, tt.ts), err, "message_not_found")
		})
	}
}

func TestMessageChecks(t *testing.T) {
	api := slacktest.NewAPI(t)
	c := api.Client(token)
	ctx := context.Background()
	many := make([]slack.Block, 51)
	for i := range many {
		many[i] = slack.NewDividerBlock()
	}
	tests := []struct {
		name    string
		channel string
		opts    []slack.MsgOption
		want    string
	}{
		{"no text", "C1", nil, "no_text"},
		{"no channel", "", []slack.MsgOption{slack.MsgOptionText("hi", false)}, "channel_not_found"},
		{"51 blocks", "C1", []slack.MsgOption{slack.MsgOptionBlocks(many...)}, "invalid_blocks"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := c.PostMessageContext(ctx, tt.channel, tt.opts...)
			wantSlackError(t, "PostMessage", err, tt.want)
		})
	}

	t.Run("ephemeral", func(t *testing.T) {
		ts, err := c.PostEphemeralContext(ctx, "C1", "U1", slack.MsgOptionText("only you", false))
		if err != nil || ts == "" {
			t.Fatalf("PostEphemeral(C1, U1) = %q, %v, want a ts", ts, err)
		}
		if got := api.Calls("chat.postEphemeral"); len(got) != 1 || got[0].Form.Get("user") != "U1" {
			t.Errorf("Calls(chat.postEphemeral) = %+v, want one to U1", got)
		}
		// Ephemeral messages can only be replaced through their response_url.
		_, _, _, err = c.UpdateMessageContext(ctx, "C1", ts, slack.MsgOptionText("x", false))
		wantSlackError(t, "UpdateMessage(ephemeral)", err, "message_not_found")
	})
}

func TestOpenThenUpdateView(t *testing.T) {
	api := slacktest.NewAPI(t)
	c := api.Client(token)
	ctx := context.Background()

	opened, err := c.OpenViewContext(ctx, "trigger-1", modal("approve", "Approve", section("waiting")))
	if err != nil {
		t.Fatalf("OpenView error = %v", err)
	}
	if !strings.HasPrefix(opened.ID, "V") || opened.Hash == "" || opened.CallbackID != "approve" || opened.Title.Text != "Approve" || opened.TeamID != slacktest.TeamID {
		t.Errorf("OpenView view = id %q hash %q callback %q title %q team %q", opened.ID, opened.Hash, opened.CallbackID, opened.Title.Text, opened.TeamID)
	}
	if len(opened.Blocks.BlockSet) != 1 || sectionText(t, opened.Blocks.BlockSet[0]) != "waiting" {
		t.Errorf("OpenView blocks = %#v, want the section echoed", opened.Blocks.BlockSet)
	}

	updated, err := c.UpdateViewContext(ctx, modal("approve", "Approved", section("done")), "", opened.Hash, opened.ID)
	if err != nil {
		t.Fatalf("UpdateView(%s) error = %v", opened.ID, err)
	}
	if updated.ID != opened.ID || updated.Hash == opened.Hash || updated.Title.Text != "Approved" {
		t.Errorf("UpdateView = id %q hash %q title %q, want id %q, a new hash, title Approved", updated.ID, updated.Hash, updated.Title.Text, opened.ID)
	}

	open := api.Calls("views.open")
	if len(open) != 1 || open[0].Token != token || open[0].JSON["trigger_id"] != "trigger-1" || open[0].View == nil || open[0].View.CallbackID != "approve" {
		t.Errorf("Calls(views.open) = %+v, want one with token, trigger_id and view", open)
	}
	up := api.Calls("views.update")
	if len(up) != 1 || up[0].JSON["view_id"] != opened.ID || sectionText(t, up[0].View.Blocks.BlockSet[0]) != "done" {
		t.Errorf("Calls(views.update) = %+v, want one of %s", up, opened.ID)
	}

	tests := []struct {
		name, hash, viewID, want string
	}{
		{"stale hash", opened.Hash, opened.ID, "hash_conflict"},
		{"unknown view", "", "V999", "not_found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.UpdateViewContext(ctx, modal("approve", "x"), "", tt.hash, tt.viewID)
			wantSlackError(t, "UpdateView", err, tt.want)
		})
	}

	t.Run("external id", func(t *testing.T) {
		m := modal("ext", "Ext")
		m.ExternalID = "req-42"
		v, err := c.OpenViewContext(ctx, "trigger-2", m)
		if err != nil {
			t.Fatalf("OpenView error = %v", err)
		}
		got, err := c.UpdateViewContext(ctx, modal("ext", "Ext 2"), "req-42", "", "")
		if err != nil || got.ID != v.ID {
			t.Errorf("UpdateView(external req-42) = %v, %v, want view %s", got, err, v.ID)
		}
	})
}

func TestFail(t *testing.T) {
	api := slacktest.NewAPI(t)
	c := api.Client(token)
	ctx := context.Background()

	api.Fail("chat.postMessage", "not_in_channel", 1)
	api.Fail("views.open", "trigger_expired", 1)
	_, _, err := c.PostMessageContext(ctx, "C1", slack.MsgOptionText("hi", false))
	wantSlackError(t, "PostMessage (failed once)", err, "not_in_channel")
	_, err = c.OpenViewContext(ctx, "trigger", modal("cb", "T"))
	wantSlackError(t, "OpenView (failed once)", err, "trigger_expired")

	mustPost(t, c, "C1", slack.MsgOptionText("hi", false))
	got := api.Calls("chat.postMessage")
	if len(got) != 2 || got[0].Error != "not_in_channel" || got[1].Error != "" {
		t.Errorf("Calls(chat.postMessage) = %+v, want the failure then a success", got)
	}
}

func TestRateLimit(t *testing.T) {
	api := slacktest.NewAPI(t)
	c := api.Client(token)

	api.RateLimit("chat.postMessage", 1500*time.Millisecond, 1)
	_, _, err := c.PostMessageContext(context.Background(), "C1", slack.MsgOptionText("hi", false))
	var rl *slack.RateLimitedError
	if !errors.As(err, &rl) || rl.RetryAfter != 2*time.Second {
		t.Fatalf("PostMessage (rate limited) error = %v, want *slack.RateLimitedError retry after 2s", err)
	}
	mustPost(t, c, "C1", slack.MsgOptionText("hi", false))
	if got := api.Calls("chat.postMessage"); len(got) != 2 || got[0].Status != http.StatusTooManyRequests || got[1].Status != http.StatusOK {
		t.Errorf("Calls(chat.postMessage) = %+v, want 429 then 200", got)
	}
}

func TestResponseURL(t *testing.T) {
	api := slacktest.NewAPI(t)
	ctx := context.Background()
	u := api.ResponseURL("T1/123/abc")

	for i := range 5 {
		msg := &slack.WebhookMessage{
			Text:            fmt.Sprintf("update %d", i),
			ReplaceOriginal: true,
			Blocks:          &slack.Blocks{BlockSet: []slack.Block{section("working")}},
		}
		if err := slack.PostWebhookCustomHTTPContext(ctx, u, http.DefaultClient, msg); err != nil {
			t.Fatalf("PostWebhook #%d error = %v", i+1, err)
		}
	}
	err := slack.PostWebhookCustomHTTPContext(ctx, u, http.DefaultClient, &slack.WebhookMessage{Text: "one too many"})
	var sce slack.StatusCodeError
	if !errors.As(err, &sce) || sce.Code != http.StatusNotFound {
		t.Errorf("PostWebhook #6 error = %v, want status 404", err)
	}

	got := api.Calls(slacktest.MethodResponseURL)
	if len(got) != 6 {
		t.Fatalf("Calls(response_url) = %d calls, want 6", len(got))
	}
	first := got[0]
	if first.ResponseURLID != "T1/123/abc" || first.Message.Text != "update 0" || !first.Message.ReplaceOriginal || first.Token != "" {
		t.Errorf("first response_url call = %+v", first)
	}
	if len(first.Blocks) != 1 || sectionText(t, first.Blocks[0]) != "working" {
		t.Errorf("first response_url blocks = %#v, want the section", first.Blocks)
	}
	if got[5].Error != "used_url" || got[5].Status != http.StatusNotFound {
		t.Errorf("6th response_url call = status %d error %q, want 404 used_url", got[5].Status, got[5].Error)
	}

	// Each response_url has its own allowance, and slack-go's
	// MsgOptionResponseURL (a JSON message through the client) is accepted too.
	other := api.ResponseURL("other")
	_, _, err = api.Client(token).PostMessageContext(ctx, "C1", slack.MsgOptionResponseURL(other, slack.ResponseTypeEphemeral), slack.MsgOptionText("via client", false))
	if err != nil {
		t.Fatalf("PostMessage(MsgOptionResponseURL) error = %v", err)
	}
	last := api.Calls(slacktest.MethodResponseURL)[6]
	if last.ResponseURLID != "other" || last.Message.Text != "via client" || last.Message.ResponseType != "ephemeral" {
		t.Errorf("client response_url call = %+v", last)
	}

	t.Run("failed", func(t *testing.T) {
		api.Fail(slacktest.MethodResponseURL, "expired_url", 1)
		err := slack.PostWebhookCustomHTTPContext(ctx, api.ResponseURL("x"), http.DefaultClient, &slack.WebhookMessage{Text: "late"})
		if !errors.As(err, &sce) || sce.Code != http.StatusNotFound {
			t.Errorf("PostWebhook (expired) error = %v, want status 404", err)
		}
	})
}

func TestRefusals(t *testing.T) {
	api := slacktest.NewAPI(t)
	ctx := context.Background()
	anon := api.Client("")

	_, _, err := anon.PostMessageContext(ctx, "C1", slack.MsgOptionText("hi", false))
	wantSlackError(t, "PostMessage (no token)", err, "not_authed")
	_, err = anon.OpenViewContext(ctx, "trigger", modal("cb", "T"))
	wantSlackError(t, "OpenView (no token)", err, "not_authed")
	_, err = api.Client(token).GetConversationInfoContext(ctx, &slack.GetConversationInfoInput{ChannelID: "C1"})
	wantSlackError(t, "GetConversationInfo", err, "unknown_method")
}

func TestAuthOAuthUserGroups(t *testing.T) {
	api := slacktest.NewAPI(t)
	c := api.Client(token)
	ctx := context.Background()

	auth, err := c.AuthTestContext(ctx)
	if err != nil || auth.TeamID != slacktest.TeamID || auth.UserID != slacktest.BotUserID || auth.BotID != slacktest.BotID {
		t.Errorf("AuthTest = %+v, %v, want team %s user %s", auth, err, slacktest.TeamID, slacktest.BotUserID)
	}

	resp, err := slack.GetOAuthV2ResponseContext(ctx, http.DefaultClient, "cid", "secret", "code-1", "", slack.OAuthOptionAPIURL(api.APIURL()))
	if err != nil || resp.AccessToken != slacktest.BotToken || resp.Team.ID != slacktest.TeamID || resp.RefreshToken == "" {
		t.Errorf("GetOAuthV2Response = %+v, %v, want the default success", resp, err)
	}
	if got := api.Calls("oauth.v2.access"); len(got) != 1 || got[0].Form.Get("code") != "code-1" || got[0].Token != "" {
		t.Errorf("Calls(oauth.v2.access) = %+v, want one with code-1", got)
	}
	api.SetOAuthAccess(`{"ok":false,"error":"invalid_code"}`)
	_, err = slack.GetOAuthV2ResponseContext(ctx, http.DefaultClient, "cid", "secret", "code-2", "", slack.OAuthOptionAPIURL(api.APIURL()))
	wantSlackError(t, "GetOAuthV2Response (SetOAuthAccess error)", err, "invalid_code")

	api.SetUserGroupMembers("S1", []string{"U1", "U2"})
	users, err := c.GetUserGroupMembersContext(ctx, "S1")
	if err != nil || strings.Join(users, ",") != "U1,U2" {
		t.Errorf("GetUserGroupMembers(S1) = %v, %v, want [U1 U2]", users, err)
	}
	_, err = c.GetUserGroupMembersContext(ctx, "S2")
	wantSlackError(t, "GetUserGroupMembers(S2)", err, "no_such_subteam")
}

// Calls made concurrently, some after WaitFor starts waiting, are all seen,
// with unique timestamps.
func TestWaitForConcurrent(t *testing.T) {
	api := slacktest.NewAPI(t)
	c := api.Client(token)
	const n = 20
	start := make(chan struct{})
	var (
		wg  sync.WaitGroup
		mu  sync.Mutex
		tss = map[string]bool{}
	)
	for i := range n {
		wg.Go(func() {
			<-start
			_, ts, err := c.PostMessageContext(context.Background(), "C1", slack.MsgOptionText(fmt.Sprint(i), false))
			if err != nil {
				t.Errorf("PostMessage #%d error = %v", i, err)
			}
			mu.Lock()
			tss[ts] = true
			mu.Unlock()
		})
	}
	go func() {
		for range n / 2 {
			api.Calls("chat.postMessage") // read while writes happen
		}
		close(start)
	}()
	got := api.WaitFor(t, "chat.postMessage", n, 10*time.Second)
	wg.Wait()
	if len(got) < n {
		t.Fatalf("WaitFor = %d calls, want %d", len(got), n)
	}
	if len(tss) != n {
		t.Errorf("PostMessage x%d gave %d distinct ts, want %d", n, len(tss), n)
	}
}

func TestPostMessageTimestampsUnique(t *testing.T) {
	api := slacktest.NewAPI(t)
	c := api.Client(token)
	seen := map[string]bool{}
	prev := ""
	for i := range 5 {
		ts := mustPost(t, c, "C1", slack.MsgOptionText(fmt.Sprint(i), false))
		if seen[ts] || ts <= prev {
			t.Errorf("PostMessage #%d ts = %q after %q, want unique and increasing", i, ts, prev)
		}
		seen[ts], prev = true, ts
	}
}

// fatalRecorder stands in for the test so WaitFor's failure can be checked.
type fatalRecorder struct {
	testing.TB
	msg string
}

func (f *fatalRecorder) Fatalf(format string, args ...any) { f.msg = fmt.Sprintf(format, args...) }

func TestWaitForTimeoutReportsCalls(t *testing.T) {
	api := slacktest.NewAPI(t)
	api.Fail("chat.update", "message_not_found", 1)
	_, _, _, _ = api.Client(token).UpdateMessageContext(context.Background(), "C1", "1.0", slack.MsgOptionText("x", false))

	rec := &fatalRecorder{TB: t}
	got := api.WaitFor(rec, "chat.postMessage", 1, 10*time.Millisecond)
	if len(got) != 0 || !strings.Contains(rec.msg, "chat.update(message_not_found)") {
		t.Errorf("WaitFor(chat.postMessage) = %d calls, failure %q; want 0 calls and a failure listing chat.update", len(got), rec.msg)
	}
}
