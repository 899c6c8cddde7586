// Package glob is the one pattern dialect of Charlize, used by queries
// (where EC2 filters use the same wildcards server-side), the policy's
// accounts and tag values, and account selection: `*` matches any run of
// characters (also none), `?` exactly one character, everything else only
// itself. There are no character classes and no escapes, so every string
// is a valid pattern and a name never needs quoting.
package glob

import "strings"

// Match reports whether s matches pattern, case-sensitively.
func Match(pattern, s string) bool {
	p, str := []rune(pattern), []rune(s)
	// Iterative matcher with a single backtrack point: linear-ish, and it
	// cannot blow up on patterns like a*a*a*a*b.
	pi, si, star, mark := 0, 0, -1, 0
	for si < len(str) {
		switch {
		case pi < len(p) && p[pi] == '*':
			// Before the literal case: a `*` facing a `*` in s is still a
			// wildcard, not a character matched once and forgotten.
			star, mark = pi, si
			pi++
		case pi < len(p) && (p[pi] == '?' || p[pi] == str[si]):
			pi++
			si++
		case star >= 0:
			pi = star + 1
			mark++
			si = mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}

// MatchAny reports whether s matches one of patterns.
func MatchAny(patterns []string, s string) bool {
	for _, p := range patterns {
		if Match(p, s) {
			return true
		}
	}
	return false
}

// HasWildcard reports whether pattern matches more than one string.
func HasWildcard(pattern string) bool { return strings.ContainsAny(pattern, "*?") }
