// Package slacktest builds requests the way Slack sends them (signed form
// and JSON bodies) and fakes Slack's Web API for end-to-end tests. It is
// test support: production code never imports it.
package slacktest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Signature computes Slack's v0 request signature, as Slack does when it
// sends a request (the app verifies it with slack-go's verifier).
func Signature(secret string, ts time.Time, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte("v0:" + strconv.FormatInt(ts.Unix(), 10) + ":"))
	mac.Write(body)
	return "v0=" + hex.EncodeToString(mac.Sum(nil))
}

// Sign sets Slack's signature headers on r for body, signed at ts.
func Sign(r *http.Request, secret string, ts time.Time, body []byte) {
	r.Header.Set("X-Slack-Request-Timestamp", strconv.FormatInt(ts.Unix(), 10))
	r.Header.Set("X-Slack-Signature", Signature(secret, ts, body))
}

// FormRequest builds a signed form POST, like a slash command.
func FormRequest(target, secret string, form url.Values) *http.Request {
	body := form.Encode()
	r, _ := http.NewRequest(http.MethodPost, target, strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	Sign(r, secret, time.Now(), []byte(body))
	return r
}

// PayloadRequest builds a signed interactivity POST: form field payload
// holding the JSON of v.
func PayloadRequest(target, secret string, v any) *http.Request {
	raw, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return FormRequest(target, secret, url.Values{"payload": {string(raw)}})
}

// JSONRequest builds a signed JSON POST, like an Events API delivery.
func JSONRequest(target, secret string, body []byte) *http.Request {
	r, _ := http.NewRequest(http.MethodPost, target, strings.NewReader(string(body)))
	r.Header.Set("Content-Type", "application/json")
	Sign(r, secret, time.Now(), body)
	return r
}

// Command returns the form fields of a slash command as Slack sends them
// (../shared/slack/slash-command.txt), with text as typed.
func Command(team, user, text, responseURL string) url.Values {
	return url.Values{
		"token":        {"gIkuvaNzQIHg97ATvDxqgjtO"},
		"team_id":      {team},
		"team_domain":  {"example"},
		"channel_id":   {"C2147483705"},
		"channel_name": {"ops"},
		"user_id":      {user},
		"user_name":    {"alice"},
		"command":      {"/charlize"},
		"text":         {text},
		"api_app_id":   {"A123456"},
		"response_url": {responseURL},
		"trigger_id":   {"13345224609.738474920.8088930838d88f008e0"},
	}
}
