package slackclient

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// cannedTransport answers every call with the same Web API answer, so that
// a benchmark weighs what observedTransport adds to a call and nothing else.
type cannedTransport struct{ body []byte }

func (c cannedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	io.Copy(io.Discard, r.Body)
	return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json; charset=utf-8"}},
		Body: io.NopCloser(bytes.NewReader(c.body)), ContentLength: int64(len(c.body)), Request: r}, nil
}

// viewsOpenAnswer is the size and shape of Slack's answer to the picker's
// views.open: the whole view comes back.
var viewsOpenAnswer = []byte(`{"ok":true,"view":{"id":"V0123456789","team_id":"T0123","type":"modal","blocks":[` +
	strings.Repeat(`{"type":"section","block_id":"b","text":{"type":"mrkdwn","text":"Pick an instance, then what to do with it","verbatim":false}},`, 40) +
	`{"type":"divider","block_id":"d"}],"private_metadata":"","callback_id":"picker","state":{"values":{}},"hash":"1700000000.abcdef"},"response_metadata":{"messages":[]}}`)

// BenchmarkObservedCall is one Web API call through the named, observed
// transport, the answer read as slack-go reads it.
func BenchmarkObservedCall(b *testing.B) {
	t := &observedTransport{next: cannedTransport{body: viewsOpenAnswer},
		o: HTTPOptions{UserAgent: "charlize/1.2.3", Observe: func(string, string, time.Duration, time.Duration) {}, Now: time.Now}}
	payload := []byte(`{"trigger_id":"1.2.3","view":{}}`)
	b.ReportAllocs()
	for b.Loop() {
		req, _ := http.NewRequest(http.MethodPost, "http://127.0.0.1:3199/api/views.open", bytes.NewReader(payload))
		req.Header.Set("Content-Type", "application/json; charset=utf-8")
		req.Header.Set("Authorization", "Bearer xoxb-not-a-token")
		resp, err := t.RoundTrip(req)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}

// What the metrics call an answer, and that the caller still reads the
// whole of it: "ok" is read from an answer's start when Slack puts it
// there, from the whole answer when not.
func TestObservedOutcomeAndBodyOfAnswers(t *testing.T) {
	long := `{"ok":false,"error":"invalid_blocks","response_metadata":{"messages":["` + strings.Repeat("x", 5000) + `"]}}`
	for _, tc := range []struct {
		body, want string
	}{
		{`{"ok":true,"view":{"id":"V1"}}`, OutcomeOK},
		{`{"ok":false,"error":"expired_trigger_id"}`, OutcomeSlackError},
		{`{ "ok" : true }`, OutcomeOK},
		{`{"warning":"superfluous_charset","ok":true}`, OutcomeOK},
		{`{"warning":"superfluous_charset","ok":false,"error":"channel_not_found"}`, OutcomeSlackError},
		{`{"error":"` + strings.Repeat("y", 100) + `","ok":false}`, OutcomeSlackError},
		{long, OutcomeSlackError},
		{`{"ok":"yes"}`, OutcomeSlackError},
		{" \n\t{ \"ok\":\ttrue}", OutcomeOK},
		{`{"okay":true,"ok":false}`, OutcomeSlackError},
		{`{"okay":false,"ok":true}`, OutcomeOK},
		{`["ok",true]`, OutcomeSlackError},
		{`{"ok":tr`, OutcomeSlackError},
		{`not json`, OutcomeSlackError},
		{``, OutcomeSlackError},
	} {
		var heard string
		tr := &observedTransport{next: cannedTransport{body: []byte(tc.body)},
			o: HTTPOptions{Observe: func(_, outcome string, _, _ time.Duration) { heard = outcome }, Now: time.Now}}
		req, _ := http.NewRequest(http.MethodPost, "http://127.0.0.1:3199/api/chat.postMessage", strings.NewReader("{}"))
		resp, err := tr.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		if heard != tc.want {
			t.Errorf("answer %.60q observed as %q, want %q", tc.body, heard, tc.want)
		}
		if string(got) != tc.body {
			t.Errorf("answer %.60q read back by the caller as %.60q", tc.body, got)
		}
	}
}

// The User-Agent goes on a copy: the caller's request is not changed.
func TestNamedCallLeavesTheCallersRequestAlone(t *testing.T) {
	var sent string
	tr := &observedTransport{next: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		sent = r.Header.Get("User-Agent")
		return cannedTransport{body: []byte(`{"ok":true}`)}.RoundTrip(r)
	}), o: HTTPOptions{UserAgent: "charlize/1.2.3", Now: time.Now}}
	req, _ := http.NewRequest(http.MethodPost, "http://127.0.0.1:3199/api/auth.test", strings.NewReader(""))
	req.Header.Set("User-Agent", "Go-http-client/1.1")
	if _, err := tr.RoundTrip(req); err != nil {
		t.Fatal(err)
	}
	if sent != "charlize/1.2.3" || req.Header.Get("User-Agent") != "Go-http-client/1.1" {
		t.Errorf("sent User-Agent %q, caller's now %q; want charlize/1.2.3 sent and the caller's unchanged", sent, req.Header.Get("User-Agent"))
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// Found by a review: an answer that broke off after its leading "ok":true
// (the connection dropped) was counted ok, though the caller failed.
func TestObservedAnswerCutOffIsNotOK(t *testing.T) {
	answer := `{"ok":true,"channel":"C1","ts":"1700000000.000100","message":{"text":"hello","type":"message"}}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, buf, err := w.(http.Hijacker).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		fmt.Fprintf(buf, "HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: %d\r\n\r\n%s", len(answer), answer[:40])
		buf.Flush()
	}))
	t.Cleanup(srv.Close)
	var heard []string
	var mu sync.Mutex
	hc := NewHTTPClientWith(HTTPOptions{Observe: func(method, outcome string, _, _ time.Duration) {
		mu.Lock()
		defer mu.Unlock()
		heard = append(heard, method+" "+outcome)
	}})
	resp, err := hc.Post(srv.URL+"/api/chat.postMessage", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(resp.Body); err == nil {
		t.Error("the caller read a cut-off answer whole")
	}
	resp.Body.Close()
	mu.Lock()
	defer mu.Unlock()
	if len(heard) != 1 || heard[0] == "chat.postMessage "+OutcomeOK {
		t.Errorf("observed %q for a cut-off answer, want it not counted ok", heard)
	}
}
