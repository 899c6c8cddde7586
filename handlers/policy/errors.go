package policy

import (
	"fmt"
	"strings"
)

// Error is one problem found in a policy file. Parse reports every problem
// at once, joined with errors.Join, so errors.As finds the first *Error and
// unwrapping the join yields them all.
type Error struct {
	// Rule names the rule at fault: its name, "rules[i]" when it has none,
	// "approval[i]" for an approval entry, or "" for the file as a whole.
	Rule string
	// Field is the dotted path of the field at fault within the rule
	// ("actions", "who.users", "where.tags.env"), or "" for the whole rule.
	Field string
	// Line is the 1-based line in the YAML, or 0 when it is not known.
	Line int
	// Problem says what is wrong, in words an operator can act on.
	Problem string
}

// Error renders the problem as
// `policy: line 7: rule "sre" field actions: unknown action "stpo" (did you mean stop?)`.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("policy: ")
	if e.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", e.Line)
	}
	var where []string
	if e.Rule != "" {
		where = append(where, fmt.Sprintf("rule %q", e.Rule))
	}
	if e.Field != "" {
		where = append(where, "field "+e.Field)
	}
	if len(where) > 0 {
		b.WriteString(strings.Join(where, " "))
		b.WriteString(": ")
	}
	b.WriteString(e.Problem)
	return b.String()
}
