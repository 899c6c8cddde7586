package slackclient

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Outcomes of a call to Slack, as CallObserver hears them.
const (
	OutcomeOK           = "ok"
	OutcomeSlackError   = "slack_error"   // HTTP 200 with {"ok":false}, or a response_url refusal
	OutcomeRateLimited  = "rate_limited"  // HTTP 429
	OutcomeHTTPError    = "http_error"    // any other status ≥ 400
	OutcomeNetworkError = "network_error" // no answer: refused, reset, timed out
)

// Call methods that are not Web API methods.
const (
	MethodResponseURL = "response_url"
	MethodFileUpload  = "file_upload"
)

// CallObserver is told about every HTTP call to Slack: the Web API method
// ("chat.postMessage"), MethodResponseURL or MethodFileUpload, its outcome,
// how long it took, and Slack's Retry-After when rate limited.
type CallObserver func(method, outcome string, took, retryAfter time.Duration)

// HTTPOptions configure NewHTTPClientWith.
type HTTPOptions struct {
	// UserAgent is sent with every call ("charlize/1.2.3"); Go's default
	// otherwise.
	UserAgent string
	// Observe, when set, hears about every call.
	Observe CallObserver
	// Now is the clock calls are timed with (default time.Now).
	Now func() time.Time
}

// NewHTTPClientWith is NewHTTPClient that names itself and reports its
// calls.
func NewHTTPClientWith(o HTTPOptions) *http.Client {
	c := NewHTTPClient()
	if o.UserAgent == "" && o.Observe == nil {
		return c
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	c.Transport = &observedTransport{next: c.Transport, o: o}
	return c
}

type observedTransport struct {
	next http.RoundTripper
	o    HTTPOptions
}

func (t *observedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if t.o.UserAgent != "" && r.Header.Get("User-Agent") != t.o.UserAgent {
		// A RoundTripper must not change the caller's request: a copy with
		// its own headers (Clone copied the URL and the rest as well).
		named := *r
		named.Header = r.Header.Clone()
		named.Header.Set("User-Agent", t.o.UserAgent)
		r = &named
	}
	start := t.o.Now()
	resp, err := t.next.RoundTrip(r)
	if t.o.Observe == nil {
		return resp, err
	}
	method := callMethod(r)
	if err != nil {
		t.o.Observe(method, OutcomeNetworkError, t.o.Now().Sub(start), 0)
		return resp, err
	}
	outcome, retryAfter := OutcomeOK, time.Duration(0)
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		outcome = OutcomeRateLimited
		if secs, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil {
			retryAfter = time.Duration(secs) * time.Second
		}
	case resp.StatusCode == http.StatusNotFound && method == MethodResponseURL:
		outcome = OutcomeSlackError // expired_url, used_url
	case resp.StatusCode >= 400:
		outcome = OutcomeHTTPError
	case method != MethodResponseURL && method != MethodFileUpload && !answeredOK(resp):
		outcome = OutcomeSlackError
	}
	t.o.Observe(method, outcome, t.o.Now().Sub(start), retryAfter)
	return resp, nil
}

// callMethod names a call by its URL: …/api/chat.postMessage is a Web API
// method, an upload URL (files.getUploadURLExternal hands one out) is a
// file upload, anything else a response_url.
func callMethod(r *http.Request) string {
	path := r.URL.Path
	if i := strings.LastIndex(path, "/api/"); i >= 0 {
		if m := path[i+len("/api/"):]; m != "" && !strings.Contains(m, "/") {
			return m
		}
	}
	if strings.Contains(path, "/upload/") {
		return MethodFileUpload
	}
	return MethodResponseURL
}

// maxPeek bounds how much of a Web API answer is read to find its "ok";
// Slack's answers to the methods Charlize calls are far smaller.
const maxPeek = 1 << 20

// answeredOK reports whether a Web API answer says "ok": true. It reads
// the answer (one that breaks off is not ok) and puts it back for the
// caller; Slack writes "ok" first, so only an answer that does not is
// decoded here as well as by the caller.
func answeredOK(resp *http.Response) bool {
	if resp.Body == nil || !isJSON(resp.Header.Get("Content-Type")) {
		return true
	}
	body, err := readAnswer(resp.Body, resp.ContentLength, maxPeek)
	resp.Body = readBack(body, resp.Body)
	if err != nil {
		return false
	}
	if ok, found := leadingOK(body); found {
		return ok
	}
	var answer struct {
		OK bool `json:"ok"`
	}
	return json.Unmarshal(body, &answer) == nil && answer.OK
}

// readAnswer reads an answer of length bytes (-1: unknown), at most limit
// (0: all of it), into a buffer of its size when that is known and
// plausible (a length Slack's header claims is not allocated on trust).
func readAnswer(r io.Reader, length, limit int64) ([]byte, error) {
	if limit > 0 {
		r = io.LimitReader(r, limit)
		if length > limit {
			length = -1
		}
	}
	if length < 0 || length > maxPeek {
		return io.ReadAll(r)
	}
	body := make([]byte, length)
	n, err := io.ReadFull(r, body)
	return body[:n], err
}

// leadingOK reads "ok" when it is an answer's first field, as Slack writes
// it; found is false when the answer starts otherwise (then it is for
// encoding/json to read). An answer that begins {"ok":true is ok, whatever
// follows: only its first bytes are looked at.
func leadingOK(answer []byte) (ok, found bool) {
	rest, matched := skipToken(answer, "{")
	if matched {
		rest, matched = skipToken(rest, `"ok"`)
	}
	if matched {
		rest, matched = skipToken(rest, ":")
	}
	if !matched {
		return false, false
	}
	if _, isTrue := skipToken(rest, "true"); isTrue {
		return true, true
	}
	if _, isFalse := skipToken(rest, "false"); isFalse {
		return false, true
	}
	return false, false
}

// skipToken skips JSON whitespace, then token; matched is false when token
// is not next.
func skipToken(b []byte, token string) (rest []byte, matched bool) {
	b = bytes.TrimLeft(b, " \t\r\n")
	if !bytes.HasPrefix(b, []byte(token)) {
		return b, false
	}
	return b[len(token):], true
}

// readBack is a body that reads read first, then the rest of the body.
func readBack(read []byte, rest io.ReadCloser) io.ReadCloser {
	return struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(read), rest), rest}
}

// isJSON reports whether a Content-Type names JSON, as mime.ParseMediaType
// reads its media type, without the map of parameters it builds.
func isJSON(contentType string) bool {
	mediaType, _, _ := strings.Cut(contentType, ";")
	return strings.EqualFold(strings.TrimSpace(mediaType), "application/json")
}
