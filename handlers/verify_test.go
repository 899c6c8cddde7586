package handlers

import (
	"net/http"
	"os"
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
