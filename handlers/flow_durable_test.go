package handlers_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
)

// Every one of 1,000 concurrent presses of one button is answered: one
// acts, the others hear by whom it is already in progress, however full
// the job queue is.
func TestThousandDuplicateClicksAreAllAnswered(t *testing.T) {
	w := newWorld(t, worldOptions{transition: 2 * time.Second})
	stop := mustButton(t, w.instanceCard("web-1", "card1"), "act:stop", "")
	const clicks = 1000
	var (
		wg     sync.WaitGroup
		failed atomic.Int32
	)
	start := make(chan struct{})
	// At most 64 requests in flight, as a busy Slack would send them.
	sem := make(chan struct{}, 64)
	for i := range clicks {
		wg.Go(func() {
			<-start
			sem <- struct{}{}
			defer func() { <-sem }()
			rep, err := w.send(interactionRequest(w.clickPayload(alice, stop, fmt.Sprintf("c%d", i), clickFrom{})))
			if err != nil || rep.status != http.StatusOK {
				failed.Add(1)
			}
		})
	}
	close(start)
	wg.Wait()
	if n := failed.Load(); n != 0 {
		t.Fatalf("%d clicks were not acknowledged with 200", n)
	}
	answered := func() (losers, winners int) {
		for i := range clicks {
			for _, m := range w.urlPosts(fmt.Sprintf("c%d", i)) {
				text := messageText(m)
				switch {
				case strings.Contains(text, "already in progress") || strings.Contains(text, "was already stopped"):
					losers++
				case strings.Contains(text, "Stopping"):
					winners++
				}
			}
		}
		return losers, winners
	}
	// The action's own end first: under -race on a busy machine the
	// answers can take a while, and nothing here is about speed.
	w.waitForText("chat.update", "web-1* stopped", 2*time.Minute)
	deadline := time.Now().Add(2 * time.Minute)
	losers, winners := answered()
	for (losers != clicks-1 || winners != 1) && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
		losers, winners = answered()
	}
	if losers != clicks-1 || winners != 1 {
		t.Errorf("%d clicks told it is taken and %d acting; want %d and 1", losers, winners, clicks-1)
		for i := range clicks {
			for _, m := range w.urlPosts(fmt.Sprintf("c%d", i)) {
				if text := messageText(m); !strings.Contains(text, "already in progress") && !strings.Contains(text, "was already stopped") {
					t.Logf("c%d was told %s", i, short(text))
				}
			}
		}
	}
	if n := w.sim.Calls("StopInstances"); n != 1 {
		t.Errorf("StopInstances = %d, want 1", n)
	}
}

// The final edit of an action's message is retried while Slack
// rate-limits it, until it lands.
func TestFinalEditSurvivesRateLimits(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{transition: time.Second})
	posted, list := w.sharedList(alice)
	w.clickFrom(alice, mustButtonOf(t, list, "web-1", "act:stop"), "click1", clickFrom{messageTS: posted.TS})
	w.waitUpdate(posted.TS, "Stopping")
	// More 429s (Retry-After 1 s) than one call waits out.
	w.slack.RateLimit("chat.update", time.Second, 6)
	w.waitUpdate(posted.TS, "web-1* stopped")
}

// When the final edit cannot land before the report deadline, the
// requester is told privately instead of the message staying at ⏳.
func TestFinalEditGivesUpAndTellsTheRequester(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{transition: time.Second, reportDeadline: 1500 * time.Millisecond})
	posted, list := w.sharedList(alice)
	w.clickFrom(alice, mustButtonOf(t, list, "web-1", "act:stop"), "click1", clickFrom{messageTS: posted.TS})
	w.waitUpdate(posted.TS, "Stopping")
	w.slack.RateLimit("chat.update", time.Second, 1000)
	told := w.waitForText("chat.postEphemeral", "web-1* stopped", 20*time.Second)
	if got := told.Form.Get("user"); got != alice {
		t.Errorf("the result went to %q, want the requester", got)
	}
}

// A user from another organisation in a Slack Connect channel may look but
// not act: their click is refused and audited, until the policy names
// their team.
func TestSlackConnectUserIsRefusedByDefault(t *testing.T) {
	t.Parallel()
	const partner = "T0PARTNER"
	for _, tc := range []struct {
		name, policy string
		allowed      bool
	}{
		{"default", allowAll, false},
		// Only the team rule grants stop, so the check when the action
		// runs must see the presser as the partner they are too.
		{"team named", partnerPolicy("stop"), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, worldOptions{policy: tc.policy})
			posted, list := w.sharedList(alice)
			stop := mustButtonOf(t, list, "web-1", "act:stop")
			w.clickFrom("U0EXT", stop, "ext1", clickFrom{messageTS: posted.TS, userTeam: partner})
			if !tc.allowed {
				got := w.waitForURLText("ext1", "Slack Connect", 5*time.Second)
				if !strings.Contains(messageText(got), partner) {
					t.Errorf("refusal = %s, want the team named", short(messageText(got)))
				}
				w.waitAudit("external refused", entry("U0EXT", "stop", "refused", "refused"))
				if n := w.sim.Calls("StopInstances"); n != 0 {
					t.Errorf("StopInstances = %d, want 0", n)
				}
				return
			}
			w.waitUpdate(posted.TS, "web-1* stopped")
			w.waitAudit("external allowed", entry("U0EXT", "stop", "allowed", "done"))
		})
	}
}

// partnerPolicy lets alice list, see and stop, everyone read, and the
// Slack Connect team T0PARTNER do partnerActions (nothing else grants
// them to a partner).
func partnerPolicy(partnerActions string) string {
	return `rules:
  - name: home-ops
    who: {users: [U0ALICE]}
    actions: [list, status, stop]
  - name: readers
    who: {users: ["*"]}
    actions: [list, status]
  - name: partner
    who: {teams: [T0PARTNER]}
    actions: [` + partnerActions + `]
`
}

// pausableProxy forwards TCP to target until paused; while paused it
// holds what it reads, as a Redis in DEBUG SLEEP or behind a stalled
// network does. close refuses new connections (Redis down).
type pausableProxy struct {
	ln     net.Listener
	paused atomic.Bool
	mu     sync.Mutex
	conns  []net.Conn
}

func newPausableProxy(t *testing.T, target string) *pausableProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &pausableProxy{ln: ln}
	t.Cleanup(p.close)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, up)
			p.mu.Unlock()
			go p.pipe(up, c)
			go p.pipe(c, up)
		}
	}()
	return p
}

func (p *pausableProxy) pipe(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		for p.paused.Load() {
			time.Sleep(5 * time.Millisecond)
		}
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			if err != io.EOF {
				dst.Close()
			}
			return
		}
	}
}

func (p *pausableProxy) addr() string { return p.ln.Addr().String() }

func (p *pausableProxy) close() {
	p.ln.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// While Redis hangs, every ack stays within Slack's 3 s and /readyz answers
// within a probe's 1 s; with Redis down, users read what is wrong.
func TestRedisHangingOrDown(t *testing.T) {
	t.Parallel()
	m := miniredis.RunT(t)
	proxy := newPausableProxy(t, m.Addr())
	w := newWorld(t, worldOptions{redisURL: "redis://" + proxy.addr()})
	card := w.instanceCard("web-1", "card1")
	stop := mustButton(t, card, "act:stop", "")

	proxy.paused.Store(true)
	timed := func(what string, r *http.Request, within time.Duration) reply {
		t.Helper()
		rep := w.mustSend(r)
		if rep.elapsed > within {
			t.Errorf("%s took %s with Redis hanging, want under %s", what, rep.elapsed, within)
		}
		return rep
	}
	timed("a command", w.commandRequest(alice, "list web*", "list1"), 3*time.Second)
	timed("a click", interactionRequest(w.clickPayload(alice, stop, "hang1", clickFrom{})), 3*time.Second)
	ready := timed("/readyz", httptestRequest(http.MethodGet, "/readyz"), time.Second)
	if ready.status != http.StatusServiceUnavailable {
		t.Errorf("/readyz with Redis hanging = %d, want 503", ready.status)
	}
	w.waitForURLText("hang1", "can't reach its state store", 10*time.Second)

	proxy.paused.Store(false)
	proxy.close() // Redis down: connections refused
	timed("a click", interactionRequest(w.clickPayload(alice, stop, "down1", clickFrom{})), 3*time.Second)
	got := w.waitForURLText("down1", "can't reach its state store", 10*time.Second)
	if strings.Contains(messageText(got), "Something went wrong") {
		t.Errorf("with Redis down the user read %s", messageText(got))
	}
	if n := w.sim.Calls("StopInstances"); n != 0 {
		t.Errorf("StopInstances = %d, want 0", n)
	}
}

func httptestRequest(method, path string) *http.Request {
	r, _ := http.NewRequest(method, "http://charlize.test"+path, nil)
	return r
}
