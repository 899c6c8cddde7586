package glob_test

import (
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

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
		// A `*` in the text is a character like any other (cron tags, OU names).
		{"*", "*/5 * * * *", true},
		{"web*", "web*1", true},
		{"*a", "*xa", true},
		{"/Prod/*", "/Prod/*legacy/", true},
		{"a*", "*a", false},
	}
	for _, tt := range tests {
		if got := glob.Match(tt.pattern, tt.s); got != tt.want {
			t.Errorf("Match(%q, %q) = %v, want %v", tt.pattern, tt.s, got, tt.want)
		}
	}
}

func FuzzMatch(f *testing.F) {
	f.Add("a*b?c", "aXXbYc")
	f.Add("*", "*a")
	f.Fuzz(func(t *testing.T, pattern, s string) {
		if !utf8.ValidString(pattern) || !utf8.ValidString(s) {
			return // names and tags reach it from AWS and Slack, as UTF-8
		}
		if glob.Match(pattern, s) && !strings.ContainsAny(pattern, "*?") && pattern != s {
			t.Fatalf("Match(%q, %q) without wildcards = true", pattern, s)
		}
		if !glob.Match(s, s) && !strings.ContainsAny(s, "*?") {
			t.Fatalf("Match(%q, itself) = false", s)
		}
		// The same pattern as a regular expression is the reference.
		var re strings.Builder
		re.WriteString(`^(?s:`)
		for _, r := range pattern {
			switch r {
			case '*':
				re.WriteString(`.*`)
			case '?':
				re.WriteString(`.`)
			default:
				re.WriteString(regexp.QuoteMeta(string(r)))
			}
		}
		re.WriteString(`)$`)
		if got, want := glob.Match(pattern, s), regexp.MustCompile(re.String()).MatchString(s); got != want {
			t.Fatalf("Match(%q, %q) = %v, want %v (as %s)", pattern, s, got, want, re.String())
		}
	})
}
