// Package typo suggests what someone probably meant: the known word nearest
// to a mistyped one ("stpo" → "stop"), for unknown subcommands, policy
// fields and actions, and instance names that match nothing.
package typo

import (
	"strings"
	"unicode/utf8"
)

// maxRunes bounds the work on hostile input: a word longer than this is far
// from every candidate.
const maxRunes = 64

// Distance is the optimal-string-alignment distance between a and b, in
// runes: the edits that turn one into the other, where swapping two
// neighbours counts once.
func Distance(a, b string) int {
	// Fixed-size arrays keep the work on the stack: every unknown
	// subcommand is compared with each verb, under load.
	var bufA, bufB [maxRunes + 1]rune
	ra, rb := appendRunes(bufA[:0], a), appendRunes(bufB[:0], b)
	if len(ra) > maxRunes || len(rb) > maxRunes {
		return max(utf8.RuneCountInString(a), utf8.RuneCountInString(b))
	}
	var rows [3][maxRunes + 1]int
	prev2, prev, cur := rows[0][:len(rb)+1], rows[1][:len(rb)+1], rows[2][:len(rb)+1]
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}

// Closest returns the candidate nearest to word, ignoring case, when it is
// within limit(candidate) edits (and nearer than the word is long), or "".
// The first candidate wins a tie.
func Closest(word string, candidates []string, limit func(candidate string) int) string {
	w := strings.ToLower(word)
	runes := utf8.RuneCountInString(w)
	best, bestDist := "", -1
	for _, c := range candidates {
		// Words of lengths further apart than the limit are further apart
		// than the limit: most verbs, for most words, are not compared.
		lower := strings.ToLower(c)
		if n := utf8.RuneCountInString(lower); max(runes-n, n-runes) > limit(c) {
			continue
		}
		d := Distance(w, lower)
		if d > limit(c) || d >= runes {
			continue
		}
		if bestDist < 0 || d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}

// appendRunes appends the runes of s to buf, stopping one past maxRunes:
// that is enough to tell a word is too long.
func appendRunes(buf []rune, s string) []rune {
	for _, r := range s {
		if len(buf) > maxRunes {
			break
		}
		buf = append(buf, r)
	}
	return buf
}
