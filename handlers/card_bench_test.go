package handlers_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/charlize-app/charlize/handlers/slacktest"
)

// BenchmarkCard measures, with the simulator at 50 ms per AWS call, how
// long `/charlize status web-1` takes to show the card (before its graph)
// and to show the graph (GetMetricData, drawing, the three-step upload,
// the edit), from the command's request to the fake Slack receiving each
// post; "slack 100ms" also makes the fake Slack take 100 ms per call
// (the upload's three steps and each response_url post), as Slack itself
// roughly does. Run with
//
//	go test -run XXX -bench Card -benchtime 20x ./handlers/
func BenchmarkCard(b *testing.B) {
	for _, tt := range []struct {
		name     string
		graphTTL time.Duration
		slack    time.Duration
	}{
		{"fresh graph", time.Nanosecond, 0},
		{"fresh graph slack 100ms", time.Nanosecond, 100 * time.Millisecond},
		{"cached graph slack 100ms", time.Hour, 100 * time.Millisecond},
	} {
		b.Run(tt.name, func(b *testing.B) {
			w := newWorld(b, worldOptions{latency: 50 * time.Millisecond, graphTTL: tt.graphTTL})
			for _, m := range []string{"files.getUploadURLExternal", slacktest.MethodUpload, "files.completeUploadExternal", slacktest.MethodResponseURL} {
				w.slack.SetLatency(m, tt.slack)
			}
			// Warm the credential caches (AssumeRole for reading and for the
			// user's dry runs) and, for the cached case, the graph.
			w.mustSend(w.commandRequest(alice, "status web-1", "warm"))
			waitPosts(b, w, "warm")
			var first, graphed time.Duration
			b.ResetTimer()
			for i := range b.N {
				id := fmt.Sprintf("bench%d", i)
				start := time.Now()
				if rep := w.mustSend(w.commandRequest(alice, "status web-1", id)); rep.status != http.StatusOK {
					b.Fatalf("status = %d", rep.status)
				}
				card, graph := waitPosts(b, w, id)
				first += card.Sub(start)
				graphed += graph.Sub(start)
			}
			b.StopTimer()
			b.ReportMetric(float64(first.Milliseconds())/float64(b.N), "ms-to-card")
			b.ReportMetric(float64(graphed.Milliseconds())/float64(b.N), "ms-to-graph")
		})
	}
}

// waitPosts waits for the card (the ack's replacement) and the card with
// its graph on response_url id, and says when the fake received each; a
// cached graph comes with the card itself.
func waitPosts(b *testing.B, w *world, id string) (card, graph time.Time) {
	b.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		var cardAt, graphAt time.Time
		for _, c := range w.slack.Calls("response_url") {
			if c.ResponseURLID != id || c.Status != http.StatusOK {
				continue
			}
			if cardAt.IsZero() {
				cardAt = c.Time
			}
			if graphFileID(c.Message) != "" {
				graphAt = c.Time
			}
		}
		if !graphAt.IsZero() {
			return cardAt, graphAt
		}
		time.Sleep(time.Millisecond)
	}
	b.Fatalf("no card with a graph on %s", id)
	return
}
