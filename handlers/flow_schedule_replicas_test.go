package handlers_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/charlize-app/charlize/ec2ops"
	"github.com/charlize-app/charlize/handlers/schedule"
)

// listingGate holds the answer to the first schedule listing (a
// DescribeInstances filtered on the schedule tag) until opened.
type listingGate struct {
	held, open chan struct{}
	heldOnce   sync.Once
	openOnce   sync.Once
	mu         sync.Mutex
	n          int
}

func newListingGate() *listingGate {
	return &listingGate{held: make(chan struct{}), open: make(chan struct{})}
}

func (g *listingGate) release() { g.openOnce.Do(func() { close(g.open) }) }

func (g *listingGate) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		if !bytes.Contains(body, []byte("Action=DescribeInstances")) || !bytes.Contains(body, []byte("charlize%3Aschedule")) {
			h.ServeHTTP(w, r)
			return
		}
		g.mu.Lock()
		g.n++
		first := g.n == 1
		g.mu.Unlock()
		if !first {
			h.ServeHTTP(w, r)
			return
		}
		// AWS answered at once; its answer is slow to come back.
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		g.heldOnce.Do(func() { close(g.held) })
		select {
		case <-g.open:
		case <-r.Context().Done():
			return
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
	})
}

// Defect: with two replicas, a warning step whose listing came back late
// (after the stop's time) saved its warning over the state the stop's step
// had acted on, and posted a live warning, Snooze buttons and all, for an
// instance already stopped. A warning that finds the occurrence acted on,
// or its time passed, posts nothing.
func TestLateWarningDoesNotUndoTheStop(t *testing.T) {
	clock := clockwork.NewFakeClockAt(scheduleStart)
	g := newListingGate()
	defer g.release()
	w := newWorld(t, worldOptions{redis: true, clock: clock, scheduleChannel: channel, wrapSim: g.wrap,
		schedules: []schedule.Schedule{mustSchedule(t, "office-hours", "mon-fri 08:00-19:00 Europe/Warsaw")},
		fixture:   scheduleFixture(tagged("i-0000000000000e001", "web-1", "running", "office-hours"))})
	w.addReplica("replica-2")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := clock.BlockUntilContext(ctx, 2); err != nil {
		t.Fatal(err)
	}
	clock.Advance(stopUTC.Add(-15 * time.Minute).Sub(clock.Now()))
	<-g.held // one replica's warning waits for its listing
	if err := clock.BlockUntilContext(ctx, 1); err != nil {
		t.Fatal(err)
	}
	clock.Advance(stopUTC.Sub(clock.Now())) // the other acts at the stop
	ts, _ := w.occurrenceMessage("office-hours")
	w.waitForEdit(ts, "stopped 1 of 1 instance")
	posts := len(w.slack.Calls("chat.postMessage"))
	g.release()
	// The warning's step ends: its replica waits on the clock again.
	if err := clock.BlockUntilContext(ctx, 2); err != nil {
		t.Fatal(err)
	}
	if calls := w.slack.Calls("chat.postMessage"); len(calls) != posts {
		t.Errorf("after web-1 was stopped, the late warning posted: %s", callText(calls[len(calls)-1]))
	}
	if text := w.waitForEdit(ts, "stopped 1 of 1 instance"); strings.Contains(text, "snooze:") {
		t.Errorf("the stop's message has snooze buttons again:\n%s", text)
	}
	if got := w.state("acme-prod", "eu-west-1", "i-0000000000000e001"); got != ec2ops.StateStopped {
		t.Errorf("web-1 is %s, want stopped", got)
	}
}
