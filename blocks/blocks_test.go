package blocks_test

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/slack-go/slack"

	"github.com/charlize-app/charlize/blocks"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

// mustMatchGolden compares v's JSON with testdata/name.golden.json. The
// golden files are plain Block Kit payloads: paste one into Block Kit Builder
// to see the rendering.
func mustMatchGolden(t *testing.T, name string, v any) {
	t.Helper()
	got, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatalf("marshal %s: %v", name, err)
	}
	got = append(got, '\n')
	path := filepath.Join("testdata", name+".golden.json")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden (run go test ./blocks -update to create it): %v", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", name, diff)
	}
}

// mustRoundTrip checks that a message survives JSON through slack-go's own
// types, as Slack's and our decoders will read it.
func mustRoundTrip(t *testing.T, msg slack.WebhookMessage) {
	t.Helper()
	raw, err := json.Marshal(msg)
	if err != nil {
		t.Fatal(err)
	}
	var back slack.WebhookMessage
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatalf("round trip: %v", err)
	}
	if back.Blocks == nil || len(back.Blocks.BlockSet) != len(msg.Blocks.BlockSet) {
		t.Fatalf("round trip: %d blocks, want %d", len(back.Blocks.BlockSet), len(msg.Blocks.BlockSet))
	}
	again, _ := json.Marshal(back)
	if diff := cmp.Diff(string(raw), string(again)); diff != "" {
		t.Errorf("round trip changed the payload (-first +second):\n%s", diff)
	}
}

// mustRoundTripModal checks that a modal survives JSON through slack-go's
// own types.
func mustRoundTripModal(t *testing.T, m slack.ModalViewRequest) {
	t.Helper()
	raw, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	var back slack.ModalViewRequest
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatalf("round trip: %v", err)
	}
	again, _ := json.Marshal(back)
	if diff := cmp.Diff(string(raw), string(again)); diff != "" {
		t.Errorf("round trip changed the modal (-first +second):\n%s", diff)
	}
}

// mustPassMessage checks a message against Block Kit limits and that it
// survives JSON.
func mustPassMessage(t *testing.T, name string, msg slack.WebhookMessage) {
	t.Helper()
	if msg.Blocks == nil {
		t.Fatalf("%s has no blocks", name)
	}
	if err := blocks.CheckMessage(msg.Blocks.BlockSet); err != nil {
		t.Errorf("%s breaks Block Kit limits: %v", name, err)
	}
	mustRoundTrip(t, msg)
}

// mustPassModal checks a modal against Block Kit limits and that it
// survives JSON.
func mustPassModal(t *testing.T, name string, m slack.ModalViewRequest) {
	t.Helper()
	if err := blocks.CheckModal(m); err != nil {
		t.Errorf("%s breaks Block Kit limits: %v", name, err)
	}
	mustRoundTripModal(t, m)
}
