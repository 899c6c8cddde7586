package ec2ops

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Tag is an EC2 tag.
type Tag struct{ Key, Value string }

// Account is an AWS account Charlize may operate in.
type Account struct {
	Name       string   // unique; what users type and see
	ID         string   // 12-digit AWS account id; may be empty for the ambient "default" account
	RoleARN    string   // role to assume; "" means use the ambient credentials
	ExternalID string   // sent with AssumeRole (confused-deputy protection)
	Regions    []string // regions Charlize lists and acts in
	ManagedTag *Tag     // when set, only instances with this tag are visible or actionable
	Workspaces []string // Slack team ids that may see the account; empty means all
	// Channel is the Slack channel id where schedules warn and report and
	// the account's AWS events are posted ("" = the default channels);
	// EventsQueueURL is an SQS queue of its events read with the account's
	// role; Notify narrows which kinds of event are posted (nil = all:
	// state-change, alarm, health).
	Channel        string
	EventsQueueURL string
	Notify         []string
	// Discovered marks an account listed from the AWS Organization rather
	// than written in the accounts file; OU is then its OU path ("/Prod/")
	// when the organization's OU tree was walked.
	Discovered bool
	OU         string
}

// NotifyKinds are the values of an account's notify list.
var NotifyKinds = []string{"state-change", "alarm", "health"}

// Notifies reports whether the account's events of kind are posted.
func (a Account) Notifies(kind string) bool {
	return a.Notify == nil || slices.Contains(a.Notify, kind)
}

// VisibleTo reports whether a Slack workspace (team id) may see the account.
func (a Account) VisibleTo(team string) bool {
	return len(a.Workspaces) == 0 || slices.Contains(a.Workspaces, team)
}

// DefaultAccountName names the single account used when there is no accounts file.
const DefaultAccountName = "default"

// AccountError is one problem found while validating accounts.
type AccountError struct {
	Line    int    // line in the accounts file; 0 when unknown
	Account string // the account's name, or "accounts[i]" when it has none yet
	Field   string // the YAML field, e.g. "role_arn"; "" for the account as a whole
	Problem string
}

func (e *AccountError) Error() string {
	var b strings.Builder
	if e.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", e.Line)
	}
	if e.Account != "" {
		fmt.Fprintf(&b, "account %s: ", e.Account)
	}
	if e.Field != "" {
		fmt.Fprintf(&b, "%s: ", e.Field)
	}
	b.WriteString(e.Problem)
	return b.String()
}

var (
	accountNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)
	accountIDRE   = regexp.MustCompile(`^[0-9]{12}$`)
	roleARNRE     = regexp.MustCompile(`^arn:aws(?:-[a-z]+)*:iam::([0-9]{12}):role/(?:[\w+=,.@-]+/)*[\w+=,.@-]{1,64}$`)
	externalIDRE  = regexp.MustCompile(`^[\w+=,.@:/-]+$`) // 2-1224 long, checked separately: RE2 caps repeats at 1000
	regionRE      = regexp.MustCompile(`^[a-z]{2}(?:-[a-z]+)+-[0-9]{1,2}$`)
	workspaceRE   = regexp.MustCompile(`^[TE][A-Z0-9]{1,20}$`)
	channelRE     = regexp.MustCompile(`^[CG][A-Z0-9]{8,20}$`)
)

// IsRegion reports whether s is shaped like an AWS region name (eu-west-1).
func IsRegion(s string) bool { return regionRE.MatchString(s) }

// ParseRegions parses a comma-separated region list such as CHARLIZE_REGIONS,
// dropping blanks and duplicates.
func ParseRegions(s string) ([]string, error) {
	var regions []string
	for r := range strings.SplitSeq(s, ",") {
		r = strings.TrimSpace(r)
		switch {
		case r == "" || slices.Contains(regions, r):
		case !IsRegion(r):
			return nil, fmt.Errorf("ec2ops.ParseRegions: %q is not a region name", r)
		default:
			regions = append(regions, r)
		}
	}
	return regions, nil
}

// AccountsFile is what the accounts file says: the accounts it lists and,
// optionally, an AWS Organization whose accounts are discovered.
type AccountsFile struct {
	Accounts     []Account
	Organization *Organization
}

// LoadAccounts reads and validates the accounts file and returns the
// accounts it lists; LoadAccountsFile also returns its organization entry.
func LoadAccounts(path string, fallbackRegions []string) ([]Account, error) {
	file, err := LoadAccountsFile(path, fallbackRegions)
	return file.Accounts, err
}

// LoadAccountsFile reads and validates the accounts file. Accounts without
// regions get fallbackRegions. With path "", it returns the single account
// "default", which uses the ambient credentials in fallbackRegions.
//
// Every problem found is reported, each as an *AccountError naming the account
// and field, joined into one error.
func LoadAccountsFile(path string, fallbackRegions []string) (AccountsFile, error) {
	if path == "" {
		acct := Account{Name: DefaultAccountName, Regions: slices.Clone(fallbackRegions)}
		if errs := validateAccount(acct, nil); len(errs) > 0 {
			return AccountsFile{}, fmt.Errorf("ec2ops.LoadAccounts: no accounts file, so the default account is used: %w", errors.Join(errs...))
		}
		return AccountsFile{Accounts: []Account{acct}}, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return AccountsFile{}, fmt.Errorf("ec2ops.LoadAccounts: %w", err)
	}
	file, err := parseAccounts(data, fallbackRegions)
	if err != nil {
		return AccountsFile{}, fmt.Errorf("ec2ops.LoadAccounts %s: %w", path, err)
	}
	return file, nil
}

// parseAccounts walks the YAML node tree by hand, rather than decoding into a
// struct with KnownFields, so that every error can name the account and field.
func parseAccounts(data []byte, fallbackRegions []string) (AccountsFile, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return AccountsFile{}, err
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return AccountsFile{}, &AccountError{Line: doc.Line, Problem: "the file must be a mapping with an accounts list"}
	}
	var (
		errs []error
		list *yaml.Node
		file AccountsFile
		org  bool
	)
	root := doc.Content[0]
	given := map[string]bool{}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		// A yaml.Node keeps repeated keys: the second list would quietly
		// replace the first.
		if given[k.Value] {
			errs = append(errs, &AccountError{Line: k.Line, Field: k.Value, Problem: "given twice"})
			continue
		}
		given[k.Value] = true
		switch k.Value {
		case "accounts":
			list = v
		case "organization":
			org = true
			var oerrs []error
			file.Organization, oerrs = parseOrganization(v, fallbackRegions)
			errs = append(errs, oerrs...)
		default:
			errs = append(errs, &AccountError{Line: k.Line, Field: k.Value, Problem: "unknown field"})
		}
	}
	// With an organization, the list only adds or overrides accounts.
	if list == nil && org {
		list = &yaml.Node{Kind: yaml.SequenceNode}
	}
	if list == nil || list.Kind != yaml.SequenceNode || (len(list.Content) == 0 && !org) {
		line := root.Line
		if list != nil {
			line = list.Line
		}
		return AccountsFile{}, errors.Join(append(errs, &AccountError{Line: line, Field: "accounts", Problem: "must be a non-empty list (or give an organization)"})...)
	}

	var accounts []Account
	seen := map[string]int{} // lower-cased name -> line
	for i, n := range list.Content {
		acct, line, aerrs := parseAccount(i, n)
		if acct.Regions == nil && !hasField(aerrs, "regions") {
			acct.Regions = slices.Clone(fallbackRegions)
		}
		label := acct.Name
		if label == "" {
			label = fmt.Sprintf("accounts[%d]", i)
		}
		if prev, dup := seen[strings.ToLower(acct.Name)]; dup && acct.Name != "" {
			aerrs = append(aerrs, &AccountError{Line: line, Field: "name", Problem: fmt.Sprintf("duplicate name (also at line %d)", prev)})
		} else {
			seen[strings.ToLower(acct.Name)] = line
		}
		// Structural errors come with their own lines; semantic ones get the account's.
		for _, e := range append(aerrs, validateAccount(acct, aerrs)...) {
			ae := e.(*AccountError)
			ae.Account = label
			if ae.Line == 0 {
				ae.Line = line
			}
			errs = append(errs, ae)
		}
		if acct.RoleARN == "" && !hasField(aerrs, "role_arn") && accountsWithoutRole(accounts) > 0 {
			// Two accounts on the ambient credentials would be the same account twice.
			errs = append(errs, &AccountError{Line: line, Account: label, Field: "role_arn",
				Problem: "is required: only one account can use the ambient credentials"})
		}
		accounts = append(accounts, acct)
	}
	if len(errs) > 0 {
		return AccountsFile{}, errors.Join(errs...)
	}
	file.Accounts = accounts
	return file, nil
}

func hasField(errs []error, field string) bool {
	return slices.ContainsFunc(errs, func(e error) bool { return e.(*AccountError).Field == field })
}

// parseAccount decodes one account mapping, reporting unknown, repeated or
// mistyped fields. Values are validated separately by validateAccount.
func parseAccount(i int, n *yaml.Node) (Account, int, []error) {
	var (
		acct Account
		errs []error
	)
	if n.Kind != yaml.MappingNode {
		return acct, n.Line, []error{&AccountError{Line: n.Line, Problem: fmt.Sprintf("accounts[%d] must be a mapping", i)}}
	}
	fieldErr := func(k *yaml.Node, problem string) {
		errs = append(errs, &AccountError{Line: k.Line, Field: k.Value, Problem: problem})
	}
	scalar := func(k, v *yaml.Node, dst *string) {
		if v.Kind != yaml.ScalarNode {
			fieldErr(k, "must be a single value")
			return
		}
		*dst = v.Value
	}
	list := func(k, v *yaml.Node, dst *[]string) {
		if v.Kind != yaml.SequenceNode {
			fieldErr(k, "must be a list")
			return
		}
		*dst = []string{}
		for _, item := range v.Content {
			if item.Kind != yaml.ScalarNode {
				fieldErr(k, "must be a list of single values")
				return
			}
			*dst = append(*dst, item.Value)
		}
	}
	seen := map[string]bool{}
	for j := 0; j+1 < len(n.Content); j += 2 {
		k, v := n.Content[j], n.Content[j+1]
		if seen[k.Value] {
			fieldErr(k, "given twice")
			continue
		}
		seen[k.Value] = true
		switch k.Value {
		case "name":
			scalar(k, v, &acct.Name)
		case "id":
			scalar(k, v, &acct.ID)
		case "role_arn":
			scalar(k, v, &acct.RoleARN)
		case "external_id":
			scalar(k, v, &acct.ExternalID)
		case "regions":
			list(k, v, &acct.Regions)
		case "workspaces":
			list(k, v, &acct.Workspaces)
		case "channel":
			scalar(k, v, &acct.Channel)
		case "events_queue_url":
			scalar(k, v, &acct.EventsQueueURL)
		case "notify":
			list(k, v, &acct.Notify)
		case "managed_tag":
			if v.Kind != yaml.MappingNode {
				fieldErr(k, "must be a mapping {key: …, value: …}")
				continue
			}
			tag := &Tag{}
			for m := 0; m+1 < len(v.Content); m += 2 {
				tk, tv := v.Content[m], v.Content[m+1]
				switch {
				case tv.Kind != yaml.ScalarNode:
					errs = append(errs, &AccountError{Line: tk.Line, Field: "managed_tag." + tk.Value, Problem: "must be a single value"})
				case tk.Value == "key":
					tag.Key = tv.Value
				case tk.Value == "value":
					tag.Value = tv.Value
				default:
					errs = append(errs, &AccountError{Line: tk.Line, Field: "managed_tag." + tk.Value, Problem: "unknown field"})
				}
			}
			acct.ManagedTag = tag
		default:
			fieldErr(k, "unknown field")
		}
	}
	return acct, n.Line, errs
}

// validateAccount checks field values, skipping fields that already failed
// to parse (structural errors in prior).
func validateAccount(a Account, prior []error) []error {
	var errs []error
	bad := func(field, format string, args ...any) {
		if !hasField(prior, field) {
			errs = append(errs, &AccountError{Account: a.Name, Field: field, Problem: fmt.Sprintf(format, args...)})
		}
	}
	switch {
	case a.Name == "":
		bad("name", "is required")
	case !accountNameRE.MatchString(a.Name):
		bad("name", "%q must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit", a.Name)
	case knownStates[strings.ToLower(a.Name)] || IsRegion(strings.ToLower(a.Name)) || instanceIDRE.MatchString(strings.ToLower(a.Name)):
		// The query language could not tell the account from a state, region or instance id.
		bad("name", "%q reads as a state, region or instance id in queries; choose another name", a.Name)
	}
	if a.ID == "" {
		if a.Name != DefaultAccountName || a.RoleARN != "" {
			bad("id", "is required")
		}
	} else if !accountIDRE.MatchString(a.ID) {
		bad("id", "%q is not a 12-digit account id (quote it in YAML to keep leading zeros)", a.ID)
	}
	if a.RoleARN != "" {
		m := roleARNRE.FindStringSubmatch(a.RoleARN)
		switch {
		case m == nil:
			bad("role_arn", "%q is not an IAM role ARN (arn:aws:iam::<account id>:role/<name>)", a.RoleARN)
		case a.ID != "" && m[1] != a.ID:
			bad("role_arn", "the role is in account %s but id is %s", m[1], a.ID)
		}
	}
	if a.ExternalID != "" {
		switch {
		case a.RoleARN == "":
			bad("external_id", "is only used with role_arn")
		case len(a.ExternalID) < 2 || len(a.ExternalID) > 1224 || !externalIDRE.MatchString(a.ExternalID):
			bad("external_id", "must be 2-1224 letters, digits or +=,.@:/-")
		}
	}
	if len(a.Regions) == 0 {
		bad("regions", "no regions: list them for the account, or set CHARLIZE_REGIONS or AWS_REGION")
	}
	for i, r := range a.Regions {
		switch {
		case !IsRegion(r):
			bad("regions", "%q is not a region name (like eu-west-1)", r)
		case slices.Contains(a.Regions[:i], r):
			bad("regions", "%s is listed twice", r)
		}
	}
	if t := a.ManagedTag; t != nil {
		switch {
		case t.Key == "":
			bad("managed_tag.key", "is required")
		case len(t.Key) > 128 || strings.HasPrefix(t.Key, "aws:"):
			bad("managed_tag.key", "%q is not a usable tag key", t.Key)
		}
		if t.Value == "" || len(t.Value) > 256 {
			bad("managed_tag.value", "must be 1-256 characters")
		}
	}
	if a.Channel != "" && !channelRE.MatchString(a.Channel) {
		bad("channel", "%q is not a Slack channel id (like C0123ABCD: channel details → About), not a name", a.Channel)
	}
	for _, w := range a.Workspaces {
		if !workspaceRE.MatchString(w) {
			bad("workspaces", "%q is not a Slack team id (like T0123ABC)", w)
		}
	}
	if a.EventsQueueURL != "" {
		if problem := checkQueueURL(a.EventsQueueURL); problem != "" {
			bad("events_queue_url", "%s", problem)
		}
	}
	for _, k := range a.Notify {
		if !slices.Contains(NotifyKinds, k) {
			bad("notify", "%q is not one of %s", k, strings.Join(NotifyKinds, ", "))
		}
	}
	return errs
}

// checkQueueURL says what is wrong with an SQS queue URL, "" when nothing:
// https://sqs.<region>.amazonaws.com/<account id>/<queue name>.
func checkQueueURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Sprintf("%q is not a URL (https://sqs.<region>.amazonaws.com/<account id>/<queue name>)", raw)
	}
	parts := strings.Split(strings.Trim(u.Path, "/"), "/")
	if len(parts) != 2 || !accountIDRE.MatchString(parts[0]) || parts[1] == "" {
		return fmt.Sprintf("%q is not a queue URL: its path must be /<account id>/<queue name>", raw)
	}
	return ""
}

// QueueRegion is the region of an SQS queue URL
// (https://sqs.eu-west-1.amazonaws.com/…), "" when its host does not say.
func QueueRegion(queueURL string) string {
	u, err := url.Parse(queueURL)
	if err != nil {
		return ""
	}
	host := strings.Split(u.Hostname(), ".")
	for i, part := range host {
		if part == "sqs" && i+1 < len(host) && IsRegion(host[i+1]) {
			return host[i+1]
		}
	}
	if len(host) > 1 && IsRegion(host[0]) && slices.Contains(host, "queue") {
		return host[0] // the legacy <region>.queue.amazonaws.com
	}
	return ""
}

// CheckQueueURL validates a queue URL given outside the accounts file
// (CHARLIZE_EVENTS_QUEUE_URL).
func CheckQueueURL(raw string) error {
	if problem := checkQueueURL(raw); problem != "" {
		return errors.New(problem)
	}
	return nil
}

// validateAccounts checks a whole account list as New receives it; an
// empty list is for a Fleet whose accounts are all discovered.
func validateAccounts(accounts []Account) error {
	var errs []error
	seen := map[string]bool{}
	for _, a := range accounts {
		if seen[strings.ToLower(a.Name)] {
			errs = append(errs, &AccountError{Account: a.Name, Field: "name", Problem: "duplicate name"})
		}
		seen[strings.ToLower(a.Name)] = true
		errs = append(errs, validateAccount(a, nil)...)
	}
	return errors.Join(errs...)
}
