package handlers

import (
	"mime"
	"net/http"
	"net/url"
	"os"
	"reflect"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// TestSlackSigningVector checks slack-go's verifier, as the middleware
// calls it, against the test vector in Slack's documentation. The vector is
// from 2018 and the verifier refuses old timestamps against the real clock,
// so the check runs in a synctest bubble whose clock is moved to the
// vector's time.
func TestSlackSigningVector(t *testing.T) {
	raw, err := os.ReadFile("testdata/slack-signing-vector.txt")
	if err != nil {
		t.Fatalf("read vector: %v", err)
	}
	fields := map[string]string{}
	lines := strings.Split(strings.TrimRight(string(raw), "\n"), "\n")
	for i, line := range lines {
		k, v, _ := strings.Cut(line, ":")
		if k == "body" {
			fields[k] = strings.Join(lines[i+1:], "\n")
			break
		}
		fields[k] = strings.TrimSpace(v)
	}
	header := http.Header{}
	header.Set("X-Slack-Request-Timestamp", fields["timestamp"])
	header.Set("X-Slack-Signature", fields["signature"])
	body := []byte(fields["body"])

	synctest.Test(t, func(t *testing.T) {
		time.Sleep(time.Until(time.Unix(1531420618, 0)))
		if reason := verify(header, body, fields["secret"]); reason != "" {
			t.Errorf("verify(vector) = %q, want accepted", reason)
		}
		tampered := append([]byte(nil), body...)
		tampered[len(tampered)-1] ^= 1
		if reason := verify(header, tampered, fields["secret"]); reason != "bad_signature" {
			t.Errorf("verify(vector with one byte changed) = %q, want bad_signature", reason)
		}
		if reason := verify(header, body, "another-secret"); reason != "bad_signature" {
			t.Errorf("verify(vector, wrong secret) = %q, want bad_signature", reason)
		}
		if reason := verify(header, body, ""); reason == "" {
			t.Error("verify(vector, empty secret) accepted the request")
		}
		time.Sleep(6 * time.Minute)
		if reason := verify(header, body, fields["secret"]); reason != "expired_timestamp" {
			t.Errorf("verify(vector, 6 minutes later) = %q, want expired_timestamp", reason)
		}
	})
}

// FuzzParseQuery holds parseQuery to url.ParseQuery: the same fields and
// values, and an error exactly when net/url gives one. The seeds run with
// every go test; go test -fuzz FuzzParseQuery ./handlers/ searches further.
func FuzzParseQuery(f *testing.F) {
	for _, seed := range []string{
		"token=x&team_id=T1&command=%2Fcharlize&text=pick+%3Cprod-eu%3E+%26+more&response_url=https%3A%2F%2Fhooks.slack.com%2Fx",
		"", "&", "a", "a=", "=b", "a=1&a=2&b=3&a=4", "a=1;b=2", "a=%zz&b=2", "a%20b=c%2", "text=%E2%9C%85&&x=y",
		strings.Repeat("k=v&", 40) + "last=1",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, query string) {
		want, wantErr := url.ParseQuery(query)
		got, gotErr := parseQuery(query)
		if (gotErr != nil) != (wantErr != nil) {
			t.Fatalf("parseQuery(%q) error = %v, url.ParseQuery's = %v", query, gotErr, wantErr)
		}
		if wantErr == nil && !reflect.DeepEqual(map[string][]string(got), map[string][]string(want)) {
			t.Fatalf("parseQuery(%q) = %v, url.ParseQuery = %v", query, got, want)
		}
	})
}

func TestIsFormReadsTheMediaTypeAsMime(t *testing.T) {
	for _, ct := range []string{
		"application/x-www-form-urlencoded", "Application/X-WWW-Form-Urlencoded; charset=utf-8",
		" application/x-www-form-urlencoded ;", "application/json", "multipart/form-data; boundary=x", "", "text/plain; a=b",
	} {
		want, _, _ := mime.ParseMediaType(ct)
		if got := isForm(ct); got != (want == "application/x-www-form-urlencoded") {
			t.Errorf("isForm(%q) = %v, want %v (mime reads %q)", ct, got, !got, want)
		}
	}
}
