package handlers_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/charlize-app/charlize/ec2ops/ec2sim"
	"github.com/charlize-app/charlize/handlers/slacktest"
)

// BenchmarkSignedHelp measures one slash command through the whole HTTP
// stack: request id, metrics, body limit, signature verification on the
// raw body, decoding, dispatch and Block Kit rendering.
func BenchmarkSignedHelp(b *testing.B) {
	e := newTestServer(b, &pinger{})
	form := slacktest.Command(team, alice, "help", "http://127.0.0.1:1/r")
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		e.ServeHTTP(w, slacktest.FormRequest("/slack/commands", secret, form))
		if w.Code != http.StatusOK {
			b.Fatalf("help = %d", w.Code)
		}
	}
}

// BenchmarkTypeAhead measures the picker's instance search over a warm
// inventory of 4,000 instances (20 accounts x 4 regions x 50), the answer
// Slack waits for on every keystroke.
func BenchmarkTypeAhead(b *testing.B) {
	w := newWorld(b, worldOptions{fixture: ec2sim.Generate(20, 4, 50)})
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(string(w.suggest(alice, "0001", nil).body), "i-0") {
		if time.Now().After(deadline) {
			b.Fatal("the inventory never warmed up")
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if r := w.suggest(alice, "0001", nil); r.status != http.StatusOK {
			b.Fatalf("suggest = %d", r.status)
		}
	}
}
