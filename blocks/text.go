package blocks

import (
	"fmt"
	"reflect"
	"strings"
	"time"
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
	quoted := strings.ReplaceAll(clean(s), "`", "'")
	return "`" + Escape(Truncate(quoted, max)) + "`"
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
// value from a tag or an API cannot break a one-line layout, and drops
// bidirectional overrides, isolates and marks, so it cannot reverse how the
// rest of the line reads ("1-bew" for a name that is not web-1).
func clean(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case isBidiControl(r):
			return -1
		case unicode.IsControl(r):
			return ' '
		}
		return r
	}, s)
}

// isBidiControl reports whether r changes the direction of the text around
// it: U+200E/U+200F marks, U+061C, U+202A–U+202E embeddings and overrides,
// U+2066–U+2069 isolates.
func isBidiControl(r rune) bool {
	return r == '\u200e' || r == '\u200f' || r == '\u061c' ||
		r >= '\u202a' && r <= '\u202e' || r >= '\u2066' && r <= '\u2069'
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

// Text is something Charlize tells users: its own wording, with values
// from elsewhere (instance names and tags, AWS's messages, what users
// typed) and references to Slack users and times. Building a Text escapes
// nothing; rendering it does, once, wherever it lands: no wording or value
// can link or mention anyone, and only the references it was built with
// become Slack links. Flows build Texts with Say and hand them to blocks.
type Text struct{ parts []textPart }

type textPart struct {
	kind partKind
	s    string
	t    time.Time
}

type partKind uint8

const (
	partWords partKind = iota // Charlize's wording: may hold mrkdwn styling and line breaks
	partValue                 // a value from elsewhere: one line, bounded
	partUser                  // a Slack user id, rendered as a mention
	partTime                  // a time, rendered in the reader's time zone
	partCode                  // a value rendered as inline code
)

// User is a Slack user id in a Say, rendered as a mention; an id that is
// not a user id is shown as text.
type User string

// At is a time in a Say, rendered in the reader's own time zone.
type At time.Time

// Inline is a value in a Say rendered as inline code, such as a query as
// the user typed it.
type Inline string

// Say builds a Text. format is Charlize's own wording (it may style with
// mrkdwn's * and `); each %s in it takes the next arg: a string of any
// type (a value, shown as it is), a Text, a User, an At, an Inline or a
// number. %% is a percent sign. An arg of any other type, errors included,
// is shown as "%!s(type)": user text is never made from an error's message.
func Say(format string, args ...any) Text {
	var t Text
	words := func(s string) {
		if s != "" {
			t.parts = append(t.parts, textPart{kind: partWords, s: s})
		}
	}
	for {
		i := strings.IndexByte(format, '%')
		if i < 0 || i == len(format)-1 {
			words(format)
			return t
		}
		words(format[:i])
		verb := format[i+1]
		format = format[i+2:]
		switch {
		case verb == '%':
			words("%")
		case verb != 's' || len(args) == 0:
			words("%!" + string(verb) + "(missing)")
		default:
			t.parts = append(t.parts, sayArg(args[0])...)
			args = args[1:]
		}
	}
}

func sayArg(arg any) []textPart {
	switch v := arg.(type) {
	case Text:
		return v.parts
	case User:
		return []textPart{{kind: partUser, s: string(v)}}
	case At:
		return []textPart{{kind: partTime, t: time.Time(v)}}
	case Inline:
		return []textPart{{kind: partCode, s: string(v)}}
	case error:
		return []textPart{{kind: partWords, s: fmt.Sprintf("%%!s(%T)", arg)}}
	case time.Duration:
		return []textPart{{kind: partWords, s: v.String()}}
	}
	// Strings of any named type (an action, a state) are values; numbers
	// are Charlize's own.
	switch rv := reflect.ValueOf(arg); rv.Kind() {
	case reflect.String:
		return []textPart{{kind: partValue, s: rv.String()}}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Float32, reflect.Float64:
		return []textPart{{kind: partWords, s: fmt.Sprint(arg)}}
	}
	return []textPart{{kind: partWords, s: fmt.Sprintf("%%!s(%T)", arg)}}
}

// IsZero reports whether t says nothing.
func (t Text) IsZero() bool { return len(t.parts) == 0 }

// Mrkdwn renders t for a mrkdwn text object or a message's text: every
// wording and value escaped once, references as Slack renders them.
func (t Text) Mrkdwn() string {
	var b strings.Builder
	for _, p := range t.parts {
		switch p.kind {
		case partWords:
			b.WriteString(Escape(p.s))
		case partValue:
			b.WriteString(esc(p.s, maxMessage))
		case partUser:
			if m := Mention(p.s); m != "" {
				b.WriteString(m)
			} else {
				b.WriteString("someone")
			}
		case partTime:
			b.WriteString(Date(p.t))
		case partCode:
			b.WriteString(Code(p.s, maxMessage))
		}
	}
	return b.String()
}

// String renders t as plain text, for plain_text objects, logs and the
// audit log, which keep it as written and escape it when they show it.
func (t Text) String() string {
	var b strings.Builder
	for _, p := range t.parts {
		switch p.kind {
		case partWords:
			b.WriteString(p.s)
		case partValue:
			b.WriteString(Truncate(clean(p.s), maxMessage))
		case partUser:
			if p.s == "" {
				b.WriteString("someone")
			} else {
				b.WriteString("@" + Truncate(clean(p.s), 40))
			}
		case partTime:
			if !p.t.IsZero() {
				b.WriteString(p.t.UTC().Format("2006-01-02 15:04 UTC"))
			}
		case partCode:
			b.WriteString("`" + strings.ReplaceAll(Truncate(clean(p.s), maxMessage), "`", "'") + "`")
		}
	}
	return b.String()
}
