package ec2ops_test

import (
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/charlize-app/charlize/ec2ops"
)

func TestParseQuery(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want ec2ops.Query
		str  string // want String(); "" means same as in
	}{
		{name: "empty", in: "  ", want: ec2ops.Query{}, str: ""},
		{name: "bare id", in: "i-0123456789abcdef0", want: ec2ops.Query{IDs: []string{"i-0123456789abcdef0"}}, str: "id:i-0123456789abcdef0"},
		{name: "short id upper case", in: "I-0123ABCD", want: ec2ops.Query{IDs: []string{"i-0123abcd"}}, str: "id:i-0123abcd"},
		{name: "bare states", in: "running Stopped", want: ec2ops.Query{States: []string{"running", "stopped"}}, str: "state:running state:stopped"},
		{name: "bare region", in: "eu-west-1", want: ec2ops.Query{Regions: []string{"eu-west-1"}}, str: "region:eu-west-1"},
		{name: "bare pattern", in: "web*", want: ec2ops.Query{Names: []string{"web*"}}, str: "name:web*"},
		{name: "bare word", in: "acme-prod", want: ec2ops.Query{Words: []string{"acme-prod"}}},
		{name: "keyed terms", in: "account:acme-prod region:us-east-1 state:running name:db-? type:t3.* tag:env=prod",
			want: ec2ops.Query{Accounts: []string{"acme-prod"}, Regions: []string{"us-east-1"}, States: []string{"running"},
				Names: []string{"db-?"}, Types: []string{"t3.*"}, Tags: []ec2ops.Tag{{Key: "env", Value: "prod"}}},
			str: "account:acme-prod region:us-east-1 state:running type:t3.* name:db-? tag:env=prod"},
		{name: "keys ignore case", in: "STATE:running Region:eu-west-1", want: ec2ops.Query{States: []string{"running"}, Regions: []string{"eu-west-1"}},
			str: "region:eu-west-1 state:running"},
		{name: "comma lists", in: "state:running,stopped id:i-0123abcd,i-4567ef01 account:a,b",
			want: ec2ops.Query{States: []string{"running", "stopped"}, IDs: []string{"i-0123abcd", "i-4567ef01"}, Accounts: []string{"a", "b"}},
			str:  "account:a account:b state:running state:stopped id:i-0123abcd id:i-4567ef01"},
		{name: "duplicates collapse", in: "running state:running web* name:web*", want: ec2ops.Query{States: []string{"running"}, Names: []string{"web*"}},
			str: "state:running name:web*"},
		{name: "tag key only", in: "tag:owner", want: ec2ops.Query{Tags: []ec2ops.Tag{{Key: "owner", Value: "*"}}}, str: "tag:owner=*"},
		{name: "tag value with equals", in: "tag:expr=a=b", want: ec2ops.Query{Tags: []ec2ops.Tag{{Key: "expr", Value: "a=b"}}}},
		{name: "quoted values", in: `tag:team="data eng" name:"web server" "two words"`,
			want: ec2ops.Query{Tags: []ec2ops.Tag{{Key: "team", Value: "data eng"}}, Names: []string{"web server"}, Words: []string{"two words"}},
			str:  `name:"web server" tag:"team=data eng" "two words"`},
		{name: "quoted colon is not a key", in: `"a:b"`, want: ec2ops.Query{Words: []string{"a:b"}}},
		{name: "escapes in quotes", in: `name:"say \"hi\" \\o/"`, want: ec2ops.Query{Names: []string{`say "hi" \o/`}}},
		{name: "name value with colon", in: "name:a:b", want: ec2ops.Query{Names: []string{"a:b"}}},
		{name: "unicode name", in: "name:wéb-ü", want: ec2ops.Query{Names: []string{"wéb-ü"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ec2ops.ParseQuery(tt.in)
			if err != nil {
				t.Fatalf("ParseQuery(%q) = %v", tt.in, err)
			}
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("ParseQuery(%q) mismatch (-want +got):\n%s", tt.in, diff)
			}
			wantStr := tt.str
			if wantStr == "" && tt.in != "  " {
				wantStr = tt.in
			}
			if s := got.String(); s != wantStr {
				t.Errorf("ParseQuery(%q).String() = %q, want %q", tt.in, s, wantStr)
			}
		})
	}
}

func TestParseQueryErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		term string // the term the error must name
	}{
		{name: "unknown key", in: "running colour:blue", term: "colour:blue"},
		{name: "bad state", in: "state:runing", term: "state:runing"},
		{name: "bad state in list", in: "state:running,sleeping", term: "state:running,sleeping"},
		{name: "empty list item", in: "state:running,", term: "state:running,"},
		{name: "bad id", in: "id:i-xyz", term: "id:i-xyz"},
		{name: "bad region", in: "region:mars", term: "region:mars"},
		{name: "bad account", in: "account:a/b", term: "account:a/b"},
		{name: "bad type", in: "type:t3_micro", term: "type:t3_micro"},
		{name: "empty value", in: "web state:", term: "state:"},
		{name: "missing key", in: ":running", term: ":running"},
		{name: "tag without key", in: "tag:=prod", term: "tag:=prod"},
		{name: "tag with empty value", in: "tag:env=", term: "tag:env="},
		{name: "unclosed quote", in: `name:"web server`, term: `name:"web server`},
		{name: "bad escape", in: `name:"a\b"`, term: `name:"a\b"`},
		{name: "empty quoted word", in: `a "" b`, term: `""`},
		{name: "control character", in: "web\x01", term: "web\x01"},
		{name: "invalid utf-8", in: "web\xff", term: ""},
		{name: "too many terms", in: strings.Repeat("a ", 51), term: ""},
		{name: "too long", in: strings.Repeat("a", 2001), term: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, err := ec2ops.ParseQuery(tt.in)
			if err == nil {
				t.Fatalf("ParseQuery(%q) = %v, want error", tt.in, q)
			}
			var e *ec2ops.Error
			if !errors.As(err, &e) || !errors.Is(err, ec2ops.KindInvalidQuery) {
				t.Fatalf("ParseQuery(%q) error %v (%T), want KindInvalidQuery *Error", tt.in, err, err)
			}
			if e.Term != tt.term {
				t.Errorf("ParseQuery(%q) error term = %q, want %q", tt.in, e.Term, tt.term)
			}
			if msg := e.UserMessage(); tt.term != "" && !strings.Contains(msg, tt.term) && !strings.Contains(msg, strconv.Quote(tt.term)) {
				t.Errorf("UserMessage() = %q does not name %q", e.UserMessage(), tt.term)
			}
		})
	}
}

// FuzzParseQuery checks that the parser never panics, that errors are typed
// and name a term from the input, and that String renders a query that
// parses back to itself.
func FuzzParseQuery(f *testing.F) {
	for _, seed := range []string{
		"", "running", "i-0123456789abcdef0 stopped", "account:acme-prod region:eu-west-1 web*",
		`tag:team="data eng" name:"web \"1\""`, "state:running,stopped type:t3.*", "tag:env", `"a:b"`,
		":x", "x:", `"unclosed`, "name:a:b", "\x00", "web\u00a0server", `"\\"`,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		q, err := ec2ops.ParseQuery(s)
		if err != nil {
			var e *ec2ops.Error
			if !errors.As(err, &e) || e.Kind != ec2ops.KindInvalidQuery {
				t.Fatalf("ParseQuery(%q) error %v (%T), want KindInvalidQuery", s, err, err)
			}
			if !strings.Contains(s, e.Term) {
				t.Fatalf("ParseQuery(%q) error term %q is not in the input", s, e.Term)
			}
			if e.UserMessage() == "" {
				t.Fatalf("ParseQuery(%q) error has no user message", s)
			}
			return
		}
		rendered := q.String()
		q2, err := ec2ops.ParseQuery(rendered)
		if err != nil {
			t.Fatalf("ParseQuery(%q).String() = %q, which does not parse: %v", s, rendered, err)
		}
		if diff := cmp.Diff(q, q2, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("ParseQuery(%q) round trip through %q (-first +second):\n%s", s, rendered, diff)
		}
	})
}
