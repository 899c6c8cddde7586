package app

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/charlize-app/charlize/ec2ops"
)

// A listing of 4,000 instances is kept for a day: stored compressed, it
// must come back exactly, and small sessions stay plain JSON.
func TestFlowEncoding(t *testing.T) {
	launched := time.Date(2025, 3, 4, 9, 15, 0, 0, time.UTC)
	var items []ec2ops.Instance
	for i := range 4000 {
		items = append(items, ec2ops.Instance{Account: fmt.Sprintf("acct-%02d", i%20), Region: "eu-west-1",
			ID: fmt.Sprintf("i-%017x", i), Name: fmt.Sprintf("web-%d", i), Type: "t3.micro", State: "running",
			AZ: "eu-west-1a", PrivateIP: "10.0.0.1", LaunchTime: launched,
			Tags: map[string]string{"Name": fmt.Sprintf("web-%d", i), "env": "prod", "team": "storefront"}})
	}
	tests := []struct {
		name      string
		st        flowState
		maxBytes  int
		wantPlain bool
	}{
		{"small stays JSON", flowState{Kind: "card", TeamID: "T1", Items: items[:1]}, compressAbove, true},
		{"4000 instances compressed", flowState{Kind: "list", TeamID: "T1", Query: "running", Items: items}, 100 << 10, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, err := encodeFlow(tt.st)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%d bytes", len(data))
			if len(data) > tt.maxBytes {
				t.Errorf("encodeFlow = %d bytes, want at most %d", len(data), tt.maxBytes)
			}
			if plain := data[0] == '{'; plain != tt.wantPlain {
				t.Errorf("encodeFlow plain JSON = %v, want %v", plain, tt.wantPlain)
			}
			got, err := decodeFlow(data)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.st, got); diff != "" {
				t.Errorf("decodeFlow(encodeFlow(st)) differs (-want +got):\n%s", diff)
			}
		})
	}
}
