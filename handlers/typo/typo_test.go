package typo_test

import (
	"strings"
	"testing"

	"github.com/charlize-app/charlize/handlers/typo"
)

func TestDistance(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"stop", "stop", 0},
		{"stpo", "stop", 1}, // a swap is one edit
		{"sotp", "stop", 1},
		{"strat", "start", 1},
		{"", "abc", 3},
		{"kitten", "sitting", 3},
		{"ünï", "uni", 2}, // runes, not bytes
		{strings.Repeat("a", 100), "a", 100},
	}
	for _, tt := range tests {
		if got := typo.Distance(tt.a, tt.b); got != tt.want {
			t.Errorf("Distance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestClosest(t *testing.T) {
	words := []string{"list", "status", "start", "stop", "terminate"}
	two := func(string) int { return 2 }
	tests := []struct{ word, want string }{
		{"stpo", "stop"},
		{"STATSU", "status"},
		{"termiante", "terminate"},
		{"xyz", ""},
		{"s", ""}, // one letter is no word to correct
	}
	for _, tt := range tests {
		if got := typo.Closest(tt.word, words, two); got != tt.want {
			t.Errorf("Closest(%q) = %q, want %q", tt.word, got, tt.want)
		}
	}
}
