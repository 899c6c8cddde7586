package handlers_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/charlize-app/charlize/blocks"
	"github.com/charlize-app/charlize/ec2ops/ec2sim"
	"github.com/charlize-app/charlize/handlers/slacktest"
)

// The same Stop click, delivered 20 times at once (double clicks, two
// people, Slack's redeliveries), stops web-1 once; everyone else is told
// who is already doing it.
func TestStopClickActsOnce(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		redis bool
	}{{"embedded", false}, {"redis", true}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, worldOptions{redis: tc.redis})
			stop := mustButton(t, w.instanceCard("web-1", "card1"), "act:stop", "")

			const clicks = 20
			var (
				wg      sync.WaitGroup
				mu      sync.Mutex
				answers []reply
				errs    []error
			)
			start := make(chan struct{})
			for i := range clicks {
				wg.Add(1)
				go func() {
					defer wg.Done()
					user := alice
					if i%2 == 1 {
						user = bob
					}
					<-start
					rep, err := w.send(interactionRequest(w.clickPayload(user, stop, fmt.Sprintf("click%d", i), clickFrom{})))
					mu.Lock()
					defer mu.Unlock()
					answers, errs = append(answers, rep), append(errs, err)
				}()
			}
			close(start)
			wg.Wait()
			for i, rep := range answers {
				if errs[i] != nil || rep.status != http.StatusOK {
					t.Fatalf("click answered %d %s (%v), want 200", rep.status, rep.body, errs[i])
				}
			}

			w.waitForText("chat.update", "web-1* stopped", 15*time.Second)
			// Losers hear about it through their own response_url.
			var winner string
			losers := 0
			deadline := time.Now().Add(10 * time.Second)
			for {
				winner, losers = "", 0
				for i := range clicks {
					for _, m := range w.urlPosts(fmt.Sprintf("click%d", i)) {
						text := messageText(m)
						switch {
						case strings.Contains(text, "already in progress (by \\u003c@U0"):
							losers++
						case strings.Contains(text, "Stopping"):
							winner = fmt.Sprintf("click%d", i)
						}
					}
				}
				if losers == clicks-1 && winner != "" || time.Now().After(deadline) {
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
			if losers != clicks-1 || winner == "" {
				t.Errorf("%d clicks were told it is already in progress and the winner is %q; want %d and one winner", losers, winner, clicks-1)
			}

			if n := w.sim.Calls("StopInstances"); n != 1 {
				t.Errorf("StopInstances calls = %d, want 1", n)
			}
			if got, _ := w.sim.Get(acctProd, "eu-west-1", "i-0000000000000a001"); got.State != ec2sim.StateStopped {
				t.Errorf("web-1 is %s, want stopped", got.State)
			}
			// One progress message, one success result.
			if n := countContaining(w.slack.Calls("chat.postMessage"), "Stopping"); n != 1 {
				t.Errorf("%d progress messages posted, want 1", n)
			}
			time.Sleep(200 * time.Millisecond) // a second result would have arrived by now
			if n := countContaining(w.slack.Calls("chat.update"), "web-1* stopped"); n != 1 {
				t.Errorf("%d success results, want 1", n)
			}
		})
	}
}

func countContaining(calls []slacktest.Call, want string) int {
	n := 0
	for _, c := range calls {
		if c.Error == "" && strings.Contains(callText(c), want) {
			n++
		}
	}
	return n
}

// Whatever AWS does, every request is answered well inside Slack's 3 s.
func TestAcksWithinThreeSecondsWhenAWSIsSlow(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{})
	card := w.instanceCard("web-1", "card1")
	stop := mustButton(t, card, "act:stop", "")
	term := mustButton(t, card, "act:terminate", "")

	w.sim.SetLatency(5 * time.Second)
	const deadline = 3 * time.Second // Slack's, not a performance target
	for _, tc := range []struct {
		name string
		req  *http.Request
	}{
		{"list", w.commandRequest(alice, "list", "slow-list")},
		{"stop command", w.commandRequest(alice, "stop web-1", "slow-stop")},
		{"picker", w.commandRequest(alice, "", "slow-picker")},
		{"stop click", interactionRequest(w.clickPayload(alice, stop, "slow-click", clickFrom{}))},
		{"terminate click", interactionRequest(w.clickPayload(bob, term, "slow-term", clickFrom{}))},
	} {
		rep := w.mustSend(tc.req)
		if rep.status != http.StatusOK || rep.elapsed >= deadline {
			t.Errorf("%s answered %d after %s, want 200 within %s", tc.name, rep.status, rep.elapsed, deadline)
		}
		// The trigger_id dies after 3 s: modals open within the request (the
		// picker's just after the answer).
		if want := map[string]int{"picker": 1, "terminate click": 2}[tc.name]; want > 0 {
			if n := countContaining(w.slack.WaitFor(t, "views.open", want, deadline), ""); n != want {
				t.Errorf("after the %s, %d views.open answered ok, want %d", tc.name, n, want)
			}
		}
	}
	picker, terminate := w.slack.Calls("views.open")[0].View, w.slack.Calls("views.open")[1].View
	for _, tc := range []struct {
		name string
		send func() reply
	}{
		{"type-ahead", func() reply { return w.suggest(alice, "web", nil) }},
		{"picker submit", func() reply {
			return w.submitView(alice, picker, map[string]map[string]any{blocks.PickerStateBlock: {blocks.PickerStateAction: selectedOption("running")}})
		}},
		{"terminate submit", func() reply {
			return w.submitView(bob, terminate, map[string]map[string]any{blocks.TerminateInputBlock: {blocks.TerminateInputAction: textInput("web-1")}})
		}},
		{"mention", func() reply { return w.event([]byte(appMention), 0) }},
	} {
		if rep := tc.send(); rep.status != http.StatusOK || rep.elapsed >= deadline {
			t.Errorf("%s answered %d after %s, want 200 within %s", tc.name, rep.status, rep.elapsed, deadline)
		}
	}
	// Let the background work finish quickly.
	w.sim.SetLatency(0)
	w.waitForText("chat.update", "stopped", 30*time.Second)
}

// A Stop click in a channel the bot is not in: progress and result reach
// the user through the response_url, with how to invite the bot; the
// instance is stopped once.
func TestProgressFallsBackToResponseURL(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{})
	stop := mustButton(t, w.instanceCard("web-1", "card1"), "act:stop", "")
	w.slack.Fail("chat.postMessage", "not_in_channel", 1)
	if rep := w.clickFrom(alice, stop, "click1", clickFrom{}); rep.status != http.StatusOK {
		t.Fatalf("click = %d %s", rep.status, rep.body)
	}
	progress := w.waitForURLText("click1", "Stopping", 10*time.Second)
	if !strings.Contains(messageText(progress), "/invite @Charlize") {
		t.Errorf("progress = %s, want the invite note", short(messageText(progress)))
	}
	result := w.waitForURLText("click1", "web-1* stopped", 15*time.Second)
	if !strings.Contains(messageText(result), "/invite @Charlize") {
		t.Errorf("result = %s, want the invite note", short(messageText(result)))
	}
	if n := len(w.slack.Calls("chat.update")); n != 0 {
		t.Errorf("chat.update calls = %d, want 0 (there is no channel message)", n)
	}
	if n := w.sim.Calls("StopInstances"); n != 1 {
		t.Errorf("StopInstances calls = %d, want 1", n)
	}
	checkRendered(t, w.urlPosts("click1")...)
}

// A rate-limited chat.update is waited out; the result still arrives.
func TestRateLimitedUpdateIsRetried(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{})
	stop := mustButton(t, w.instanceCard("web-1", "card1"), "act:stop", "")
	w.slack.RateLimit("chat.update", time.Second, 1)
	if rep := w.clickFrom(alice, stop, "click1", clickFrom{}); rep.status != http.StatusOK {
		t.Fatalf("click = %d %s", rep.status, rep.body)
	}
	w.waitForText("chat.update", "web-1* stopped", 20*time.Second)
	calls := w.slack.Calls("chat.update")
	if calls[0].Status != http.StatusTooManyRequests {
		t.Fatalf("first chat.update answered %d, want 429", calls[0].Status)
	}
	if gap := calls[1].Time.Sub(calls[0].Time); gap < time.Second {
		t.Errorf("chat.update retried after %s, before Retry-After (1s)", gap)
	}
}

// Two different buttons on one instance: while the first action runs, the
// second is refused, saying who is acting, and does not reach AWS.
func TestSecondActionOnBusyInstance(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{transition: time.Second})
	card := w.instanceCard("web-1", "card1")
	stop, reboot := mustButton(t, card, "act:stop", ""), mustButton(t, card, "act:reboot", "")

	w.clickFrom(alice, stop, "click1", clickFrom{})
	w.waitForText("chat.postMessage", "Stopping", 10*time.Second)
	if rep := w.clickFrom(bob, reboot, "click2", clickFrom{}); rep.status != http.StatusOK {
		t.Fatalf("second click = %d %s", rep.status, rep.body)
	}
	got := w.urlPost("click2", 10*time.Second)
	if !strings.Contains(got.Text, "already in progress (by <@"+alice+">)") {
		t.Errorf("second action told %q, want that alice's action is in progress", got.Text)
	}
	w.waitForText("chat.update", "web-1* stopped", 15*time.Second)
	if n := w.sim.Calls("RebootInstances"); n != 0 {
		t.Errorf("RebootInstances calls = %d, want 0", n)
	}
}

// An instance name is AWS data: refusals quote it escaped, so a Name tag
// cannot mention or link.
func TestRefusalsEscapeInstanceNames(t *testing.T) {
	t.Parallel()
	fixture := defaultFixture()
	fixture.Accounts[0].Regions["eu-west-1"] = append(fixture.Accounts[0].Regions["eu-west-1"], ec2sim.Instance{
		ID: "i-0000000000000e001", Type: "t3.micro", State: ec2sim.StateRunning, LaunchTime: time.Now().Add(-time.Hour).UTC().Truncate(time.Second),
		Tags: map[string]string{"Name": "<!here>&co"},
	})
	w := newWorld(t, worldOptions{fixture: fixture, transition: time.Second})
	card := w.instanceCard("i-0000000000000e001", "card1")
	stop, reboot := mustButton(t, card, "act:stop", ""), mustButton(t, card, "act:reboot", "")

	w.clickFrom(alice, stop, "click1", clickFrom{})
	w.waitForText("chat.postMessage", "Stopping", 10*time.Second)
	w.clickFrom(bob, stop, "same", clickFrom{})
	w.clickFrom(bob, reboot, "other", clickFrom{})
	for _, id := range []string{"same", "other"} {
		got := w.urlPost(id, 10*time.Second)
		if !strings.Contains(got.Text, "already in progress") || !strings.Contains(got.Text, "&lt;!here&gt;&amp;co") || strings.Contains(got.Text, "<!here>") {
			t.Errorf("%s click told %q, want the name escaped", id, got.Text)
		}
	}
	w.waitForText("chat.update", "stopped", 15*time.Second)
}
