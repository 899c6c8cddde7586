package handlers_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
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

// benchTexts is compare.sh's default rotation of command texts: a bare
// /charlize (the picker: a session write and a views.open), help, status
// without an instance, and two unknown words.
var benchTexts = []string{"", "help", "status", "pick prod-eu", "pick <prod-eu> & more"}

// BenchmarkCommands loads the HTTP server with signed slash commands from
// 16 goroutines, as compare.sh does at 16 connections: the picker path
// alone and the mix users send, on the embedded store and on Redis
// (REDIS_URL, else miniredis). Each request goes over loopback HTTP, and
// each picker's views.open reaches the fake Slack API (just after the
// answer; the run ends when every one has). Metrics: req/s and the 99th
// percentile latency of the answers.
func BenchmarkCommands(b *testing.B) {
	for _, mix := range []struct {
		name  string
		texts []string
	}{{"picker", []string{""}}, {"mix", benchTexts}} {
		for _, redis := range []bool{false, true} {
			storeName := map[bool]string{false: "embedded", true: "redis"}[redis]
			b.Run(mix.name+"/"+storeName, func(b *testing.B) {
				w := newWorld(b, worldOptions{redis: redis})
				client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
				b.Cleanup(client.CloseIdleConnections)
				var (
					mu        sync.Mutex
					latencies []time.Duration
					seq       atomic.Int64
					pickers   atomic.Int64
				)
				b.SetParallelism(8) // 16 goroutines on 2 cores
				b.ResetTimer()
				start := time.Now()
				b.RunParallel(func(pb *testing.PB) {
					var mine []time.Duration
					for pb.Next() {
						n := seq.Add(1)
						text := mix.texts[n%int64(len(mix.texts))]
						if text == "" {
							pickers.Add(1)
						}
						r := w.commandRequest(benchUsers[n%int64(len(benchUsers))], text, "bench")
						u, _ := url.Parse(w.server.URL)
						r.URL.Scheme, r.URL.Host, r.Host = u.Scheme, u.Host, u.Host
						t0 := time.Now()
						resp, err := client.Do(r)
						if err != nil {
							b.Error(err)
							return
						}
						_, _ = io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
						if resp.StatusCode != http.StatusOK {
							b.Errorf("command = %d", resp.StatusCode)
							return
						}
						mine = append(mine, time.Since(t0))
					}
					mu.Lock()
					latencies = append(latencies, mine...)
					mu.Unlock()
				})
				w.slack.WaitFor(b, "views.open", int(pickers.Load()), time.Minute)
				elapsed := time.Since(start)
				b.StopTimer()
				b.ReportMetric(float64(len(latencies))/elapsed.Seconds(), "req/s")
				if len(latencies) > 0 {
					slices.Sort(latencies)
					b.ReportMetric(float64(latencies[len(latencies)*99/100].Microseconds())/1000, "p99-ms")
				}
			})
		}
	}
}

// benchUsers rotate as loadgen's 8 fake users do.
var benchUsers = []string{"U0BENCH1", "U0BENCH2", "U0BENCH3", "U0BENCH4", "U0BENCH5", "U0BENCH6", "U0BENCH7", "U0BENCH8"}
