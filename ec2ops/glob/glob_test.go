package glob_test

import (
	"strings"
	"testing"

	"github.com/charlize-app/charlize/ec2ops/glob"
)

func TestMatch(t *testing.T) {
	tests := []struct {
		pattern, s string
		want       bool
	}{
		{"web-*", "web-1", true},
		{"web-*", "web-", true},
		{"web-*", "db-1", false},
		{"web-?", "web-12", false},
		{"*-prod", "acme-prod", true},
		{"acme-*-prod", "acme-eu-prod", true},
		{"[ab]", "a", false}, // no classes: brackets are literal
		{"[ab]", "[ab]", true},
		{`a\*`, `a\x`, true}, // no escapes: backslash is literal
		{"", "", true},
		{"", "x", false},
		{"*", "", true},
		{"Web-*", "web-1", false}, // case-sensitive, as EC2 filters
		{"ünï*", "ünïcode", true},
		{strings.Repeat("a*", 30) + "b", strings.Repeat("a", 60), false},
	}
	for _, tt := range tests {
		if got := glob.Match(tt.pattern, tt.s); got != tt.want {
			t.Errorf("Match(%q, %q) = %v, want %v", tt.pattern, tt.s, got, tt.want)
		}
	}
}

func FuzzMatch(f *testing.F) {
	f.Add("a*b?c", "aXXbYc")
	f.Fuzz(func(t *testing.T, pattern, s string) {
		if glob.Match(pattern, s) && !strings.ContainsAny(pattern, "*?") && pattern != s {
			t.Fatalf("Match(%q, %q) without wildcards = true", pattern, s)
		}
		if !glob.Match(s, s) && !strings.ContainsAny(s, "*?") {
			t.Fatalf("Match(%q, itself) = false", s)
		}
	})
}
