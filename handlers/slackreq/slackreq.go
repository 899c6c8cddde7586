// Package slackreq reads a Slack Web API call as Slack's servers receive
// it, for Charlize's two stand-ins for Slack: the demo's console and the
// tests' fake. slack-go sends most methods as a form and some (views.*,
// chat.* with blocks, when asked) as JSON; either way a parameter is read
// the same.
package slackreq

import (
	"encoding/json"
	"mime"
	"net/http"
	"net/url"
	"strings"
)

// Request is a decoded call: form fields (the body's, then the URL's), or
// the members of a JSON body.
type Request struct {
	Form url.Values
	JSON map[string]any
}

// Parse decodes body, the call's, by its Content-Type. ok is false when a
// JSON body does not parse (Slack answers invalid_json).
func Parse(r *http.Request, body []byte) (q Request, ok bool) {
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct == "application/json" {
		if err := json.Unmarshal(body, &q.JSON); err != nil || q.JSON == nil {
			return Request{}, false
		}
		return q, true
	}
	q.Form, _ = url.ParseQuery(string(body))
	for k, vs := range r.URL.Query() {
		q.Form[k] = append(q.Form[k], vs...)
	}
	return q, true
}

// Param returns a string parameter; a JSON member that is not a string is
// returned as its JSON.
func (q Request) Param(name string) string {
	if q.JSON != nil {
		switch v := q.JSON[name].(type) {
		case string:
			return v
		case nil:
			return ""
		default:
			raw, _ := json.Marshal(v)
			return string(raw)
		}
	}
	return q.Form.Get(name)
}

// Raw returns a JSON-valued parameter (a form field holding JSON, or a
// member of a JSON body), nil when absent.
func (q Request) Raw(name string) json.RawMessage {
	if q.JSON != nil {
		v, ok := q.JSON[name]
		if !ok || v == nil {
			return nil
		}
		raw, _ := json.Marshal(v)
		return raw
	}
	if s := q.Form.Get(name); s != "" {
		return json.RawMessage(s)
	}
	return nil
}

// Token is the call's token: the Authorization header's bearer token, else
// the token parameter, as Slack accepts either.
func (q Request) Token(r *http.Request) string {
	if tok := Bearer(r); tok != "" {
		return tok
	}
	return q.Param("token")
}

// Bearer is the Authorization header's bearer token, or "".
func Bearer(r *http.Request) string {
	scheme, tok, _ := strings.Cut(strings.TrimSpace(r.Header.Get("Authorization")), " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(tok)
}
