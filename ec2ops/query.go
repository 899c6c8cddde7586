package ec2ops

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/charlize-app/charlize/ec2ops/glob"
)

// Query selects instances. Within one field the values are alternatives
// (state:running state:stopped); different fields must all match. Tags with
// the same key are alternatives, different keys must all match, as in EC2's
// own filters.
type Query struct {
	IDs      []string // instance ids
	States   []string
	Accounts []string // account names
	Regions  []string
	Names    []string // Name tag patterns; * and ? are wildcards
	Tags     []Tag    // Value may use wildcards; "*" means the key is present
	Types    []string // instance type patterns
	// Words are bare words that are neither ids, states, regions nor
	// patterns. Fleet.List reads each as an account name if one is
	// configured with that name, and otherwise as an exact instance name.
	Words []string
}

// Query limits keep a pasted wall of text from becoming a huge AWS request.
const (
	maxQueryLen   = 2000
	maxQueryTerms = 50
	maxNameLen    = 256 // EC2's limit on a tag value
)

var (
	instanceIDRE   = regexp.MustCompile(`^i-(?:[0-9a-f]{8}|[0-9a-f]{17})$`)
	instanceTypeRE = regexp.MustCompile(`^[a-z0-9*?][a-z0-9.*?-]{0,63}$`)
)

// ParseQuery parses the text after `/charlize list` or `find`. Terms are
// separated by spaces; double quotes group a value with spaces
// (tag:team="data eng"). Bare words are instance ids, states, regions, name
// patterns (containing * or ?) or other words (account or exact instance
// names). Keyed terms are id:, state:, account:, region:, name:, type: and
// tag:key=value (tag:key alone means the tag is present); id, state, account,
// region and type take comma lists.
//
// Errors are *Error with KindInvalidQuery and Term set to the offending term.
func ParseQuery(s string) (Query, error) {
	var q Query
	if len(s) > maxQueryLen {
		return q, queryErr("", "the query is longer than %d characters", maxQueryLen)
	}
	if !utf8.ValidString(s) {
		return q, queryErr("", "the query is not valid UTF-8")
	}
	tokens, err := tokenize(s)
	if err != nil {
		return q, err
	}
	if len(tokens) > maxQueryTerms {
		return q, queryErr("", "the query has more than %d terms", maxQueryTerms)
	}
	for _, t := range tokens {
		if err := q.add(t); err != nil {
			return Query{}, err
		}
	}
	return q, nil
}

// token is one term after unquoting. key is set when the term began with an
// unquoted "key:".
type token struct {
	raw, key, value string
	keyed           bool
}

func tokenize(s string) ([]token, error) {
	var (
		tokens []token
		cur    strings.Builder
		start  = -1 // byte offset where the current token began
		keyEnd = -1 // length of cur when an unquoted ':' ended the key
		quoted bool // inside "..."
		anyQ   bool // the current token used quotes before its key ended
	)
	flush := func(end int) {
		if start < 0 {
			return
		}
		t := token{raw: s[start:end], value: cur.String()}
		if keyEnd >= 0 {
			t.key, t.value, t.keyed = t.value[:keyEnd], t.value[keyEnd+1:], true
		}
		tokens = append(tokens, t)
		cur.Reset()
		start, keyEnd, anyQ = -1, -1, false
	}
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case quoted && r == '\\' && i+size < len(s):
			next, nsize := utf8.DecodeRuneInString(s[i+size:])
			if next != '"' && next != '\\' {
				return nil, queryErr(s[start:], `inside quotes, \ may only escape " or \`)
			}
			cur.WriteRune(next)
			i += size + nsize
			continue
		case r == '"':
			if start < 0 {
				start = i
			}
			quoted = !quoted
			anyQ = true
		case quoted:
			if unicode.IsControl(r) {
				return nil, queryErr(s[start:], "control characters are not allowed")
			}
			cur.WriteRune(r)
		case unicode.IsSpace(r):
			flush(i)
		case unicode.IsControl(r):
			return nil, queryErr(s[max(start, 0):], "control characters are not allowed")
		default:
			if start < 0 {
				start = i
			}
			if r == ':' && keyEnd < 0 && !anyQ {
				keyEnd = cur.Len()
			}
			cur.WriteRune(r)
		}
		i += size
	}
	if quoted {
		return nil, queryErr(s[start:], "the closing quote is missing")
	}
	flush(len(s))
	return tokens, nil
}

func queryErr(term, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	switch {
	case term == "":
	case strings.ContainsFunc(term, func(r rune) bool { return !unicode.IsPrint(r) && r != ' ' }):
		msg = fmt.Sprintf("%s in %q", msg, term)
	default:
		msg = fmt.Sprintf("%s in `%s`", msg, term)
	}
	return &Error{Kind: KindInvalidQuery, Op: "ec2ops.ParseQuery", Term: term, Err: errors.New(msg)}
}

func (q *Query) add(t token) error {
	if !t.keyed {
		return q.addWord(t)
	}
	if t.key == "" {
		return queryErr(t.raw, "a key is missing before ':'; quote a value that contains ':'")
	}
	if t.value == "" {
		return queryErr(t.raw, "%s: needs a value", t.key)
	}
	switch key := strings.ToLower(t.key); key {
	case "id", "state", "account", "region", "type":
		for v := range strings.SplitSeq(t.value, ",") {
			if err := q.addKeyed(t.raw, key, strings.TrimSpace(v)); err != nil {
				return err
			}
		}
	case "name":
		if len(t.value) > maxNameLen {
			return queryErr(t.raw, "names are at most %d characters", maxNameLen)
		}
		q.Names = appendNew(q.Names, t.value)
	case "tag":
		k, v, hasValue := strings.Cut(t.value, "=")
		if !hasValue {
			v = "*"
		}
		switch {
		case k == "":
			return queryErr(t.raw, "tag: needs a key, as in tag:env=prod")
		case len(k) > 128 || len(v) > 256:
			return queryErr(t.raw, "tag keys are at most 128 and values at most 256 characters")
		case v == "":
			return queryErr(t.raw, "tag value is empty; use tag:%s to match any value", k)
		}
		if !slices.Contains(q.Tags, Tag{k, v}) {
			q.Tags = append(q.Tags, Tag{k, v})
		}
	default:
		return queryErr(t.raw, "unknown key %q (use id, state, account, region, name, tag or type)", t.key)
	}
	return nil
}

func (q *Query) addKeyed(raw, key, v string) error {
	if v == "" {
		return queryErr(raw, "empty value in list")
	}
	lv := strings.ToLower(v)
	switch key {
	case "id":
		if !instanceIDRE.MatchString(lv) {
			return queryErr(raw, "%q is not an instance id (i-…)", v)
		}
		q.IDs = appendNew(q.IDs, lv)
	case "state":
		if !knownStates[lv] {
			return queryErr(raw, "%q is not a state (pending, running, stopping, stopped, shutting-down, terminated)", v)
		}
		q.States = appendNew(q.States, lv)
	case "account":
		if !accountNameRE.MatchString(v) {
			return queryErr(raw, "%q is not an account name", v)
		}
		q.Accounts = appendNew(q.Accounts, v)
	case "region":
		if !IsRegion(lv) {
			return queryErr(raw, "%q is not a region (like eu-west-1)", v)
		}
		q.Regions = appendNew(q.Regions, lv)
	case "type":
		if !instanceTypeRE.MatchString(lv) {
			return queryErr(raw, "%q is not an instance type (like t3.micro or m5.*)", v)
		}
		q.Types = appendNew(q.Types, lv)
	}
	return nil
}

func (q *Query) addWord(t token) error {
	v := t.value
	if v == "" {
		return queryErr(t.raw, "empty term")
	}
	if len(v) > maxNameLen {
		return queryErr(t.raw, "names are at most %d characters", maxNameLen)
	}
	lv := strings.ToLower(v)
	switch {
	case instanceIDRE.MatchString(lv):
		q.IDs = appendNew(q.IDs, lv)
	case knownStates[lv]:
		q.States = appendNew(q.States, lv)
	case IsRegion(lv):
		q.Regions = appendNew(q.Regions, lv)
	case strings.ContainsAny(v, "*?"):
		q.Names = appendNew(q.Names, v)
	default:
		q.Words = appendNew(q.Words, v)
	}
	return nil
}

func appendNew(list []string, v string) []string {
	if slices.Contains(list, v) {
		return list
	}
	return append(list, v)
}

// IsZero reports whether the query selects everything.
func (q Query) IsZero() bool {
	return len(q.IDs)+len(q.States)+len(q.Accounts)+len(q.Regions)+len(q.Names)+len(q.Tags)+len(q.Types)+len(q.Words) == 0
}

// String renders the query in canonical form for message headers; ParseQuery
// of the result yields the same query.
func (q Query) String() string {
	var terms []string
	add := func(key string, vals []string) {
		for _, v := range vals {
			terms = append(terms, key+":"+quoteTerm(v))
		}
	}
	add("account", q.Accounts)
	add("region", q.Regions)
	add("state", q.States)
	add("id", q.IDs)
	add("type", q.Types)
	add("name", q.Names)
	for _, t := range q.Tags {
		terms = append(terms, "tag:"+quoteTerm(t.Key+"="+t.Value))
	}
	for _, w := range q.Words {
		if strings.Contains(w, ":") {
			// A bare word with a colon must be quoted so it does not read as a key.
			terms = append(terms, quoteAlways(w))
		} else {
			terms = append(terms, quoteTerm(w))
		}
	}
	return strings.Join(terms, " ")
}

func quoteTerm(v string) string {
	if v == "" || strings.ContainsFunc(v, func(r rune) bool { return unicode.IsSpace(r) || r == '"' || r == '\\' }) {
		return quoteAlways(v)
	}
	return v
}

func quoteAlways(v string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range v {
		if r == '"' || r == '\\' {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	b.WriteByte('"')
	return b.String()
}

// match reports whether inst satisfies the query's instance-level terms
// (everything except accounts and regions, which choose where to look, and
// words, which Fleet.List resolves first).
func (q Query) match(inst Instance) bool {
	if len(q.IDs) > 0 && !slices.Contains(q.IDs, inst.ID) {
		return false
	}
	if len(q.States) > 0 && !slices.Contains(q.States, inst.State) {
		return false
	}
	if len(q.Types) > 0 && !slices.ContainsFunc(q.Types, func(p string) bool { return glob.Match(p, inst.Type) }) {
		return false
	}
	if len(q.Names) > 0 {
		name, ok := inst.Tags["Name"]
		if !ok || !slices.ContainsFunc(q.Names, func(p string) bool { return glob.Match(p, name) }) {
			return false
		}
	}
	for i, t := range q.Tags {
		if slices.ContainsFunc(q.Tags[:i], func(u Tag) bool { return u.Key == t.Key }) {
			continue // this key was decided with its first term
		}
		v, ok := inst.Tags[t.Key]
		if !ok {
			return false
		}
		matched := false
		for _, u := range q.Tags[i:] {
			if u.Key == t.Key && glob.Match(u.Value, v) {
				matched = true
				break
			}
		}
		if !matched {
			return false
		}
	}
	return true
}

// ec2Escape escapes a pattern for an EC2 filter value, where backslash is the
// escape character; * and ? stay wildcards.
func ec2Escape(p string) string { return strings.ReplaceAll(p, `\`, `\\`) }
