package handlers_test

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/charlize-app/charlize/blocks"
	"github.com/charlize-app/charlize/ec2ops/ec2sim"
)

// 120 instances page by 20 through the response_url, without asking AWS
// again, every page within Block Kit's limits.
func TestListPages(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{fixture: ec2sim.Generate(1, 1, 120)})
	if status, _ := w.command(alice, "list", "list1"); status != http.StatusOK {
		t.Fatalf("list = %d", status)
	}
	first := w.urlPost("list1", 10*time.Second)
	checkRendered(t, first)
	if got := len(buttonsWithPrefix(first, "act:status")); got != blocks.ListPageSize {
		t.Fatalf("page 1 shows %d instances, want %d: %s", got, blocks.ListPageSize, short(messageText(first)))
	}
	if !strings.Contains(messageText(first), "page 1/6") {
		t.Errorf("page 1 does not say page 1/6: %s", short(messageText(first)))
	}
	describes := w.sim.Calls("DescribeInstances")

	next := mustButton(t, first, "page:next", "")
	if rep := w.clickFrom(alice, next, "page2", clickFrom{}); rep.status != http.StatusOK {
		t.Fatalf("next = %d %s", rep.status, rep.body)
	}
	second := w.urlPost("page2", 5*time.Second)
	checkRendered(t, second)
	if !second.ReplaceOriginal || !strings.Contains(messageText(second), "page 2/6") {
		t.Fatalf("page 2 = %s, want page 2/6 replacing the list", short(messageText(second)))
	}
	if got := len(buttonsWithPrefix(second, "act:status")); got != blocks.ListPageSize {
		t.Errorf("page 2 shows %d instances, want %d", got, blocks.ListPageSize)
	}
	seen := map[string]int{}
	for _, id := range listedIDs(first) {
		seen[id]++
	}
	for _, id := range listedIDs(second) {
		if seen[id] > 0 {
			t.Errorf("page 2 repeats %s from page 1", id)
		}
		seen[id]++
	}

	prev := mustButton(t, second, "page:prev", "")
	if rep := w.clickFrom(alice, prev, "page1", clickFrom{}); rep.status != http.StatusOK {
		t.Fatalf("previous = %d %s", rep.status, rep.body)
	}
	back := w.urlPost("page1", 5*time.Second)
	checkRendered(t, back)
	if !back.ReplaceOriginal || !strings.Contains(messageText(back), "page 1/6") {
		t.Errorf("previous = %s, want page 1/6", short(messageText(back)))
	}

	// The last page has no Next.
	last := second
	for p := 3; p <= 6; p++ {
		id := "page" + string(rune('0'+p)) + "b"
		w.clickFrom(alice, mustButton(t, last, "page:next", ""), id, clickFrom{})
		last = w.urlPost(id, 5*time.Second)
		checkRendered(t, last)
		for _, id := range listedIDs(last) {
			seen[id]++
		}
	}
	if len(seen) != 120 {
		t.Errorf("the 6 pages show %d distinct instances, want 120", len(seen))
	}
	if !strings.Contains(messageText(last), "page 6/6") || len(buttonsWithPrefix(last, "page:next")) != 0 {
		t.Errorf("last page = %s, want page 6/6 without Next", short(messageText(last)))
	}
	if n := w.sim.Calls("DescribeInstances"); n != describes {
		t.Errorf("DescribeInstances went from %d to %d while paging, want no AWS calls", describes, n)
	}
}

var instanceIDRE = regexp.MustCompile("`(i-[0-9a-f]{17})`")

// listedIDs are the instance ids a list message shows.
func listedIDs(msg slack.WebhookMessage) []string {
	var out []string
	for _, m := range instanceIDRE.FindAllStringSubmatch(messageText(msg), -1) {
		out = append(out, m[1])
	}
	return out
}

// short bounds a message quoted in a failure.
func short(s string) string {
	if len(s) > 600 {
		return s[:600] + "…"
	}
	return s
}

// buttonsWithPrefix lists msg's buttons, in action blocks or beside sections, whose action_id starts with prefix.
func buttonsWithPrefix(msg slack.WebhookMessage, prefix string) []button {
	if msg.Blocks == nil {
		return nil
	}
	all := buttons(msg.Blocks.BlockSet)
	for _, b := range msg.Blocks.BlockSet {
		// Buttons beside a section (the Choose of several matches).
		if sec, ok := b.(*slack.SectionBlock); ok && sec.Accessory != nil && sec.Accessory.ButtonElement != nil {
			btn := sec.Accessory.ButtonElement
			all = append(all, button{actionID: btn.ActionID, blockID: sec.BlockID, value: btn.Value, text: btn.Text.Text, confirm: btn.Confirm != nil})
		}
	}
	var out []button
	for _, b := range all {
		if strings.HasPrefix(b.actionID, prefix) {
			out = append(out, b)
		}
	}
	return out
}

// A bare word or an account: term naming an account lists that account
// alone, in any case.
func TestListOneAccountByName(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{})
	for i, q := range []string{"acme-dev", "ACME-DEV", "running acme-dev", "account:ACME-DEV", "account:Acme-Dev running"} {
		id := fmt.Sprintf("acct%d", i)
		w.command(alice, "list "+q, id)
		text := messageText(w.waitForURLText(id, "dev-1", waitResult))
		if strings.Contains(text, "web-1") || strings.Contains(text, "db-1") {
			t.Errorf("list %s = %s, want acme-dev's instances only", q, short(text))
		}
	}
}
