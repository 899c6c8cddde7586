package slackreq_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/charlize-app/charlize/handlers/slackreq"
)

func call(contentType, url, body, auth string) (*http.Request, []byte) {
	r := httptest.NewRequest(http.MethodPost, url, strings.NewReader(body))
	r.Header.Set("Content-Type", contentType)
	if auth != "" {
		r.Header.Set("Authorization", auth)
	}
	return r, []byte(body)
}

// A parameter reads the same whether slack-go sent a form or JSON, and the
// token comes from the header before the body.
func TestParse(t *testing.T) {
	form, body := call("application/x-www-form-urlencoded", "/api/chat.postMessage?channel=C1",
		"token=xoxb-form&text=hi+%3Cthere%3E&blocks=%5B%7B%22type%22%3A%22divider%22%7D%5D", "")
	q, ok := slackreq.Parse(form, body)
	if !ok || q.Param("text") != "hi <there>" || q.Param("channel") != "C1" || string(q.Raw("blocks")) != `[{"type":"divider"}]` ||
		q.Token(form) != "xoxb-form" || q.Raw("attachments") != nil {
		t.Errorf("form call = %+v (token %q)", q, q.Token(form))
	}

	js, body := call("application/json; charset=utf-8", "/api/views.open",
		`{"trigger_id":"1.2","view":{"type":"modal"},"token":"xoxb-body"}`, "Bearer xoxb-header")
	q, ok = slackreq.Parse(js, body)
	if !ok || q.Param("trigger_id") != "1.2" || q.Param("view") != `{"type":"modal"}` || string(q.Raw("view")) != `{"type":"modal"}` ||
		q.Token(js) != "xoxb-header" || q.Param("missing") != "" {
		t.Errorf("JSON call = %+v (token %q)", q, q.Token(js))
	}

	bad, body := call("application/json", "/api/views.open", `{"trigger_id":`, "")
	if _, ok := slackreq.Parse(bad, body); ok {
		t.Error("a JSON body that does not parse was accepted")
	}
	if tok := slackreq.Bearer(bad); tok != "" {
		t.Errorf("Bearer without a header = %q", tok)
	}
	basic, _ := call("application/json", "/api/oauth.v2.access", "{}", "Basic Y2xpZW50OnNlY3JldA==")
	if tok := slackreq.Bearer(basic); tok != "" {
		t.Errorf("Bearer of Basic auth = %q, want none", tok)
	}
}
