package blocks

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/slack-go/slack"
)

// Escape makes user-supplied text safe inside mrkdwn: Slack treats &, < and
// > as control characters (links, mentions), so they are entity-encoded.
func Escape(s string) string {
	return mrkdwnEscaper.Replace(s)
}

var mrkdwnEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// Code renders user text as inline code: escaped, control characters and
// backticks replaced (a backtick would end the code span), and shortened to
// max runes so an arbitrary input cannot break a block's length limit.
func Code(s string, max int) string {
	clean := strings.Map(func(r rune) rune {
		switch {
		case r == '`':
			return '\''
		case unicode.IsControl(r):
			return ' '
		}
		return r
	}, s)
	return "`" + Escape(Truncate(clean, max)) + "`"
}

// Truncate shortens s to at most max runes, marking the cut with an ellipsis.
func Truncate(s string, max int) string {
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	if max <= 1 {
		return string([]rune(s)[:max])
	}
	return string([]rune(s)[:max-1]) + "…"
}

func plain(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.PlainTextType, s, true, false)
}

func mrkdwn(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.MarkdownType, s, false, false)
}

// clean replaces control characters (newlines included) with spaces, so a
// value from a tag or an API cannot break a one-line layout.
func clean(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
}

// esc renders user or AWS text for mrkdwn: one line, at most max runes before
// escaping, with &, < and > escaped so it can neither link nor mention.
func esc(s string, max int) string {
	return Escape(Truncate(clean(s), max))
}

// plainText renders user or AWS text as a plain_text object of at most max
// runes. plain_text is never parsed for mentions or links, so it is not
// entity-escaped (Slack would show the entities literally).
func plainText(s string, max int) *slack.TextBlockObject {
	return plain(Truncate(clean(s), max))
}

// joinBounded joins items with sep while the result stays within max runes,
// then ends with "and N more" for the items left out.
func joinBounded(items []string, sep string, max int) string {
	var b strings.Builder
	n := 0
	for i, it := range items {
		more := ""
		if rest := len(items) - i - 1; rest > 0 {
			more = fmt.Sprintf("%sand %d more", sep, rest)
		}
		add := it
		if i > 0 {
			add = sep + it
		}
		if utf8.RuneCountInString(b.String())+utf8.RuneCountInString(add)+utf8.RuneCountInString(more) > max {
			break
		}
		b.WriteString(add)
		n++
	}
	if rest := len(items) - n; rest > 0 {
		if n > 0 {
			b.WriteString(sep)
		}
		fmt.Fprintf(&b, "and %d more", rest)
	}
	return Truncate(b.String(), max)
}

// Mention renders a Slack user id as a mention; anything that is not a user
// id is shown escaped, so a forged id cannot become <!channel>.
func Mention(id string) string {
	if id == "" {
		return ""
	}
	for i, r := range id {
		if !(r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') || i == 0 && r != 'U' && r != 'W' || i > 30 {
			return esc(id, 40)
		}
	}
	return "<@" + id + ">"
}
