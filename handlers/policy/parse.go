package policy

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/charlize-app/charlize/ec2ops/action"
	"github.com/charlize-app/charlize/handlers/typo"
)

// Load reads and parses the policy file at path; an empty path means no
// file is configured and yields Default. Parse problems come back as
// *Error values (errors.As), read failures keep their fs kinds (errors.Is).
func Load(path string) (*Policy, error) {
	if path == "" {
		return Default(), nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("policy.Load %s: %w", path, err)
	}
	p, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("policy.Load %s: %w", path, err)
	}
	return p, nil
}

// Parse parses and validates a policy file. It reports every problem it
// finds, not just the first, as *Error values joined with errors.Join. It
// walks the YAML node tree rather than decoding into structs so that each
// problem carries its line and unknown fields are caught at any depth.
func Parse(data []byte) (*Policy, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, syntaxError(err)
	}
	v := &validator{names: map[string]int{}, groups: map[string]bool{}}
	p := v.policy(&doc)
	if len(v.errs) > 0 {
		return nil, errors.Join(v.errs...)
	}
	return p, nil
}

// yamlLine picks the line number out of yaml.v3's "yaml: line N: …" errors.
var yamlLine = regexp.MustCompile(`^yaml: line (\d+): `)

func syntaxError(err error) error {
	msg := err.Error()
	line := 0
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = msg[len(m[0]):]
	} else {
		msg = strings.TrimPrefix(msg, "yaml: ")
	}
	return &Error{Line: line, Problem: "invalid YAML: " + msg}
}

// validator compiles a policy while collecting every problem it meets.
type validator struct {
	errs   []error
	names  map[string]int  // rule name → line of first use
	groups map[string]bool // usergroup ids named by any rule
}

func (v *validator) add(rule, field string, line int, format string, args ...any) {
	v.errs = append(v.errs, &Error{Rule: rule, Field: field, Line: line, Problem: fmt.Sprintf(format, args...)})
}

// field is a mapping value with the line of its key, which is where an
// operator looks when the value is missing or empty.
type field struct {
	line  int
	value *yaml.Node
}

// fields returns the known fields of mapping n and reports unknown and
// repeated ones. prefix is the dotted path of n within the rule.
func (v *validator) fields(n *yaml.Node, rule, prefix string, known ...string) map[string]field {
	out := map[string]field{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := resolve(n.Content[i])
		if k.Kind != yaml.ScalarNode {
			v.add(rule, strings.TrimSuffix(prefix, "."), n.Content[i].Line, "field names must be plain words, got %s", kindName(k))
			continue
		}
		name := k.Value
		if !slices.Contains(known, name) {
			v.add(rule, prefix+name, n.Content[i].Line, "unknown field (want %s)", strings.Join(known, ", "))
			continue
		}
		if prev, ok := out[name]; ok {
			v.add(rule, prefix+name, n.Content[i].Line, "given twice (first at line %d)", prev.line)
			continue
		}
		out[name] = field{line: n.Content[i].Line, value: n.Content[i+1]}
	}
	return out
}

// item is one scalar of a list, with its own line.
type item struct {
	value string
	line  int
}

// list returns the scalars of the list f, reporting anything else. It
// reports an empty or null list too: every list in a policy narrows, and
// an empty one would silently grant nothing (or, read carelessly, all).
func (v *validator) list(rule, name string, f field) []item {
	n := resolve(f.value)
	if isNull(n) || (n.Kind == yaml.SequenceNode && len(n.Content) == 0) {
		v.add(rule, name, f.line, "empty list (remove the field or list at least one entry)")
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		v.add(rule, name, f.value.Line, "must be a list like [a, b], got %s", kindName(n))
		return nil
	}
	var items []item
	for _, c := range n.Content {
		s := resolve(c)
		switch {
		case s.Kind != yaml.ScalarNode:
			v.add(rule, name, c.Line, "entries must be plain values, got %s", kindName(s))
		case isNull(s) || s.Value == "":
			v.add(rule, name, c.Line, "empty entry")
		default:
			items = append(items, item{value: s.Value, line: c.Line})
		}
	}
	return items
}

// mapping resolves f to a mapping node, or reports why it is not one.
func (v *validator) mapping(rule, name string, f field) *yaml.Node {
	n := resolve(f.value)
	if isNull(n) || (n.Kind == yaml.MappingNode && len(n.Content) == 0) {
		v.add(rule, name, f.line, "empty (remove the field or fill it in)")
		return nil
	}
	if n.Kind != yaml.MappingNode {
		v.add(rule, name, f.value.Line, "must be a mapping like {key: value}, got %s", kindName(n))
		return nil
	}
	return n
}

func (v *validator) policy(doc *yaml.Node) *Policy {
	root := doc
	if root.Kind == yaml.DocumentNode {
		root = nil
		if len(doc.Content) > 0 {
			root = resolve(doc.Content[0])
		}
	}
	if root == nil || root.Kind == 0 || isNull(root) {
		v.add("", "rules", 1, "missing: the policy file is empty, so it would grant nothing")
		return nil
	}
	if root.Kind != yaml.MappingNode {
		v.add("", "", root.Line, "the policy must be a mapping with rules (and optionally approval), got %s", kindName(root))
		return nil
	}
	f := v.fields(root, "", "", "rules", "approval")
	p := &Policy{}
	if rf, ok := f["rules"]; !ok {
		v.add("", "rules", root.Line, "missing: a policy without rules would grant nothing")
	} else if seq := v.sequence("rules", rf); seq != nil {
		for i, c := range seq.Content {
			if r := v.rule(i, c); r != nil {
				p.rules = append(p.rules, r)
			}
		}
	}
	if af, ok := f["approval"]; ok {
		if seq := v.sequence("approval", af); seq != nil {
			for i, c := range seq.Content {
				if a := v.approval(i, c); a != nil {
					p.approvals = append(p.approvals, a)
				}
			}
		}
	}
	p.groups = sortedKeys(v.groups)
	return p
}

// sequence resolves a top-level list of mappings (rules, approval).
func (v *validator) sequence(name string, f field) *yaml.Node {
	n := resolve(f.value)
	if isNull(n) || (n.Kind == yaml.SequenceNode && len(n.Content) == 0) {
		v.add("", name, f.line, "empty list (remove the field or list at least one entry)")
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		v.add("", name, f.value.Line, "must be a list of entries (each starting with \"- \"), got %s", kindName(n))
		return nil
	}
	return n
}

func (v *validator) rule(i int, c *yaml.Node) *rule {
	n := resolve(c)
	label := fmt.Sprintf("rules[%d]", i)
	if n.Kind != yaml.MappingNode {
		v.add(label, "", c.Line, "must be a mapping with name, who and actions, got %s", kindName(n))
		return nil
	}
	// Find the name first so that every later problem can cite it.
	for j := 0; j+1 < len(n.Content); j += 2 {
		k, val := resolve(n.Content[j]), resolve(n.Content[j+1])
		if k.Kind == yaml.ScalarNode && k.Value == "name" && val.Kind == yaml.ScalarNode && !isNull(val) && val.Value != "" {
			label = val.Value
			break
		}
	}
	f := v.fields(n, label, "", "name", "who", "accounts", "actions", "where")
	r := &rule{name: label}
	errsBefore := len(v.errs)

	if nf, ok := f["name"]; !ok {
		v.add(label, "name", c.Line, "missing (every rule needs a name: refusals and audit logs cite it)")
	} else if nv := resolve(nf.value); nv.Kind != yaml.ScalarNode || isNull(nv) || nv.Value == "" {
		v.add(label, "name", nf.line, "must be a non-empty string")
	} else if first, dup := v.names[nv.Value]; dup {
		v.add(label, "name", nf.line, "duplicate rule name (first used at line %d)", first)
	} else {
		v.names[nv.Value] = nf.line
	}

	if wf, ok := f["who"]; !ok {
		v.add(label, "who", c.Line, "missing (say who the rule is for: users, usergroups or channels)")
	} else if w := v.mapping(label, "who", wf); w != nil {
		v.who(r, label, w)
	}

	if af, ok := f["actions"]; !ok {
		v.add(label, "actions", c.Line, "missing (list the actions the rule grants)")
	} else {
		r.actions = map[action.Action]bool{}
		for _, it := range v.list(label, "actions", af) {
			if v.action(label, "actions", it, action.All()) {
				r.actions[action.Action(it.value)] = true
			}
		}
	}

	if af, ok := f["accounts"]; ok {
		r.accounts = v.globs(label, "accounts", af)
	}

	if wf, ok := f["where"]; ok {
		if w := v.mapping(label, "where", wf); w != nil {
			wfs := v.fields(w, label, "where.", "tags")
			if tf, ok := wfs["tags"]; ok {
				r.tags = v.tags(label, tf)
			}
		}
	}

	if len(v.errs) > errsBefore {
		return nil
	}
	return r
}

// who fills in r's principals from the who mapping.
func (v *validator) who(r *rule, label string, w *yaml.Node) {
	wf := v.fields(w, label, "who.", "users", "usergroups", "channels", "teams")
	if len(wf) == 0 {
		v.add(label, "who", w.Line, "names nobody (give users, usergroups, channels or teams)")
		return
	}
	if f, ok := wf["users"]; ok {
		r.users = map[string]bool{}
		for _, it := range v.list(label, "who.users", f) {
			switch {
			case it.value == "*":
				r.anyUser = true
			case slackID(it.value, "UW"):
				r.users[it.value] = true
			default:
				v.add(label, "who.users", it.line, "%q is not a Slack user id (U… or W… in capitals and digits) or \"*\"", it.value)
			}
		}
	}
	if f, ok := wf["usergroups"]; ok {
		r.groups = v.ids(label, "who.usergroups", f, "S", "a Slack user group id (S… in capitals and digits)")
		for g := range r.groups {
			v.groups[g] = true
		}
	}
	if f, ok := wf["teams"]; ok {
		r.teams = v.ids(label, "who.teams", f, "TE", "a Slack team id (T… or E… in capitals and digits)")
	}
	if f, ok := wf["channels"]; ok {
		r.channels = v.ids(label, "who.channels", f, "CGD", "a Slack channel id (C…, G… or D… in capitals and digits; use the id, not the #name)")
	}
}

// ids reads a list of Slack ids starting with one of prefixes; each other
// value is reported as not being what.
func (v *validator) ids(label, name string, f field, prefixes, what string) map[string]bool {
	out := map[string]bool{}
	for _, it := range v.list(label, name, f) {
		if !slackID(it.value, prefixes) {
			v.add(label, name, it.line, "%q is not %s", it.value, what)
			continue
		}
		out[it.value] = true
	}
	return out
}

// tags compiles where.tags: each key must be present on the instance with a
// value matching the glob.
func (v *validator) tags(label string, f field) []tagCond {
	m := v.mapping(label, "where.tags", f)
	if m == nil {
		return nil
	}
	var conds []tagCond
	seen := map[string]int{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, val := resolve(m.Content[i]), resolve(m.Content[i+1])
		line := m.Content[i].Line
		if k.Kind != yaml.ScalarNode || isNull(k) || k.Value == "" {
			v.add(label, "where.tags", line, "tag keys must be non-empty strings")
			continue
		}
		name := "where.tags." + k.Value
		if first, dup := seen[k.Value]; dup {
			v.add(label, name, line, "given twice (first at line %d)", first)
			continue
		}
		seen[k.Value] = line
		if val.Kind != yaml.ScalarNode || isNull(val) {
			v.add(label, name, m.Content[i+1].Line, "tag value must be a string or glob, got %s", kindName(val))
			continue
		}
		conds = append(conds, tagCond{key: k.Value, pattern: val.Value})
	}
	sort.Slice(conds, func(i, j int) bool { return conds[i].key < conds[j].key })
	return conds
}

// globs compiles an accounts list; the result is never nil when present, so
// a rule with accounts cannot fall back to "every account".
func (v *validator) globs(label, name string, f field) []string {
	out := []string{}
	for _, it := range v.list(label, name, f) {
		out = append(out, it.value)
	}
	return out
}

// action reports whether it names one of allowed, and reports it if not.
func (v *validator) action(label, name string, it item, allowed []action.Action) bool {
	if slices.Contains(allowed, action.Action(it.value)) {
		return true
	}
	names := make([]string, len(allowed))
	for i, a := range allowed {
		names[i] = string(a)
	}
	if slices.Contains(action.All(), action.Action(it.value)) {
		v.add(label, name, it.line, "%s is not a mutating action; approval applies only to %s", it.value, strings.Join(names, ", "))
		return false
	}
	if s := typo.Closest(it.value, names, func(string) int { return 2 }); s != "" {
		v.add(label, name, it.line, "unknown action %q (did you mean %s?)", it.value, s)
	} else {
		v.add(label, name, it.line, "unknown action %q (known: %s)", it.value, strings.Join(names, ", "))
	}
	return false
}

func (v *validator) approval(i int, c *yaml.Node) *approvalRule {
	n := resolve(c)
	label := fmt.Sprintf("approval[%d]", i)
	if n.Kind != yaml.MappingNode {
		v.add(label, "", c.Line, "must be a mapping with actions (and optionally accounts), got %s", kindName(n))
		return nil
	}
	errsBefore := len(v.errs)
	f := v.fields(n, label, "", "actions", "accounts")
	a := &approvalRule{name: label, actions: map[action.Action]bool{}}
	if af, ok := f["actions"]; !ok {
		v.add(label, "actions", c.Line, "missing (list the actions that need approval)")
	} else {
		for _, it := range v.list(label, "actions", af) {
			if v.action(label, "actions", it, action.Mutating()) {
				a.actions[action.Action(it.value)] = true
			}
		}
	}
	if af, ok := f["accounts"]; ok {
		a.accounts = v.globs(label, "accounts", af)
	}
	if len(v.errs) > errsBefore {
		return nil
	}
	return a
}

// slackID reports whether id is one of Slack's ids: a prefix letter from
// prefixes followed by at least one capital letter or digit.
func slackID(id, prefixes string) bool {
	if len(id) < 2 || !strings.ContainsRune(prefixes, rune(id[0])) {
		return false
	}
	for _, c := range id[1:] {
		if (c < 'A' || c > 'Z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// resolve follows aliases to the node they name. The bound guards against
// alias chains; yaml.v3 already rejects an anchor that contains itself.
func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; i < 100 && n.Kind == yaml.AliasNode && n.Alias != nil; i++ {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

func kindName(n *yaml.Node) string {
	switch {
	case isNull(n):
		return "nothing"
	case n.Kind == yaml.ScalarNode:
		return fmt.Sprintf("%q", n.Value)
	case n.Kind == yaml.SequenceNode:
		return "a list"
	case n.Kind == yaml.MappingNode:
		return "a mapping"
	default:
		return "something else"
	}
}
