package ec2ops

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"go.yaml.in/yaml/v3"

	"github.com/charlize-app/charlize/ec2ops/glob"
)

// Organization is the accounts file's `organization` entry: Charlize lists
// the organization's active accounts and reaches each one through the role
// RoleName in it, as if each were written in the file.
type Organization struct {
	// ManagementRoleARN is the role, in the management account or a
	// delegated administrator, that may call organizations:ListAccounts;
	// "" means the ambient credentials may.
	ManagementRoleARN string
	RoleName          string // the role assumed in every discovered account ("charlize", or "path/charlize")
	ExternalID        string // sent with every AssumeRole, the management role's too
	Regions           []string
	// Include and Exclude select accounts with glob patterns: a pattern
	// starting with "/" matches the account's OU path ("/Prod/Web/"),
	// any other its name (in AWS, or as Charlize names it) or its id.
	// Without Include every active account is in; Exclude wins.
	Include, Exclude []string
	ManagedTag       *Tag     // applied to every discovered account
	Workspaces       []string // applied to every discovered account
	// Refresh is how often the organization is listed again (15m).
	Refresh time.Duration
	// Retry is the first delay after a failed listing, doubled on each
	// failure up to Refresh (a minute; not in the accounts file).
	Retry time.Duration
}

// DefaultOrganizationRefresh is how often discovery runs when the accounts
// file does not say.
const DefaultOrganizationRefresh = 15 * time.Minute

// walksOUs reports whether a pattern names an OU path, which ListAccounts
// does not return: then the OU tree is walked instead.
func (o *Organization) walksOUs() bool {
	return slices.ContainsFunc(slices.Concat(o.Include, o.Exclude), isOUPattern)
}

func isOUPattern(p string) bool { return strings.HasPrefix(p, "/") }

// selects applies Include and Exclude to one discovered account.
func (o *Organization) selects(awsName, name, id, ou string) bool {
	match := func(patterns []string) bool {
		for _, p := range patterns {
			if isOUPattern(p) {
				if ou != "" && glob.Match(p, ou) {
					return true
				}
			} else if glob.Match(p, awsName) || glob.Match(p, name) || glob.Match(p, id) {
				return true
			}
		}
		return false
	}
	return (len(o.Include) == 0 || match(o.Include)) && !match(o.Exclude)
}

// roleARN is the role Charlize assumes in the discovered account id.
func (o *Organization) roleARN(id string) string {
	return "arn:" + o.partition() + ":iam::" + id + ":role/" + o.RoleName
}

// partition is the AWS partition of the organization, read from the
// management role (an organization never spans partitions).
func (o *Organization) partition() string {
	if rest, ok := strings.CutPrefix(o.ManagementRoleARN, "arn:"); ok {
		if p, _, ok := strings.Cut(rest, ":"); ok {
			return p
		}
	}
	return "aws"
}

// apiRegion is where the Organizations API of the partition lives: it is
// a global service with one endpoint per partition.
func (o *Organization) apiRegion() string {
	switch o.partition() {
	case "aws-cn":
		return "cn-northwest-1"
	case "aws-us-gov":
		return "us-gov-west-1"
	}
	return "us-east-1"
}

var roleNameRE = regexp.MustCompile(`^(?:[\w+=,.@-]+/)*[\w+=,.@-]{1,64}$`)

// parseOrganization decodes and validates the organization mapping; errors
// name the field as organization.<field>.
func parseOrganization(n *yaml.Node, fallbackRegions []string) (*Organization, []error) {
	var errs []error
	fieldErr := func(line int, field, problem string) {
		errs = append(errs, &AccountError{Line: line, Field: "organization." + field, Problem: problem})
	}
	if n.Kind != yaml.MappingNode {
		return nil, []error{&AccountError{Line: n.Line, Field: "organization", Problem: "must be a mapping (role_name, regions, …)"}}
	}
	o := &Organization{}
	var refresh string
	scalar := func(k, v *yaml.Node, dst *string) {
		if v.Kind != yaml.ScalarNode {
			fieldErr(k.Line, k.Value, "must be a single value")
			return
		}
		*dst = v.Value
	}
	list := func(k, v *yaml.Node, dst *[]string) {
		if v.Kind != yaml.SequenceNode {
			fieldErr(k.Line, k.Value, "must be a list")
			return
		}
		*dst = []string{}
		for _, item := range v.Content {
			if item.Kind != yaml.ScalarNode {
				fieldErr(k.Line, k.Value, "must be a list of single values")
				return
			}
			*dst = append(*dst, item.Value)
		}
	}
	seen := map[string]bool{}
	for j := 0; j+1 < len(n.Content); j += 2 {
		k, v := n.Content[j], n.Content[j+1]
		if seen[k.Value] {
			fieldErr(k.Line, k.Value, "given twice")
			continue
		}
		seen[k.Value] = true
		switch k.Value {
		case "management_role_arn":
			scalar(k, v, &o.ManagementRoleARN)
		case "role_name":
			scalar(k, v, &o.RoleName)
		case "external_id":
			scalar(k, v, &o.ExternalID)
		case "regions":
			list(k, v, &o.Regions)
		case "include":
			list(k, v, &o.Include)
		case "exclude":
			list(k, v, &o.Exclude)
		case "workspaces":
			list(k, v, &o.Workspaces)
		case "refresh":
			scalar(k, v, &refresh)
		case "managed_tag":
			var t struct {
				Key   string `yaml:"key"`
				Value string `yaml:"value"`
			}
			if v.Kind != yaml.MappingNode || v.Decode(&t) != nil {
				fieldErr(k.Line, k.Value, "must be a mapping {key: …, value: …}")
				continue
			}
			for m := 0; m+1 < len(v.Content); m += 2 {
				if tk := v.Content[m]; tk.Value != "key" && tk.Value != "value" {
					fieldErr(tk.Line, "managed_tag."+tk.Value, "unknown field")
				}
			}
			o.ManagedTag = &Tag{Key: t.Key, Value: t.Value}
		default:
			fieldErr(k.Line, k.Value, "unknown field")
		}
	}
	failed := func(field string) bool {
		return slices.ContainsFunc(errs, func(e error) bool {
			f := e.(*AccountError).Field
			return f == "organization."+field || strings.HasPrefix(f, "organization."+field+".")
		})
	}
	if o.Regions == nil && !failed("regions") {
		o.Regions = slices.Clone(fallbackRegions)
	}
	o.Refresh = DefaultOrganizationRefresh
	if refresh != "" {
		d, err := time.ParseDuration(refresh)
		if err != nil || d < time.Minute {
			fieldErr(n.Line, "refresh", fmt.Sprintf("%q must be a duration of at least 1m, such as 15m", refresh))
		}
		o.Refresh = d
	}
	switch {
	case failed("role_name"):
	case o.RoleName == "":
		fieldErr(n.Line, "role_name", "is required: the role Charlize assumes in every account of the organization")
	case !roleNameRE.MatchString(o.RoleName):
		fieldErr(n.Line, "role_name", fmt.Sprintf("%q is not an IAM role name (like charlize, or path/charlize)", o.RoleName))
	}
	if o.ManagementRoleARN != "" && !failed("management_role_arn") && !roleARNRE.MatchString(o.ManagementRoleARN) {
		fieldErr(n.Line, "management_role_arn", fmt.Sprintf("%q is not an IAM role ARN (arn:aws:iam::<account id>:role/<name>)", o.ManagementRoleARN))
	}
	for _, field := range []string{"include", "exclude"} {
		patterns := o.Include
		if field == "exclude" {
			patterns = o.Exclude
		}
		if slices.Contains(patterns, "") {
			fieldErr(n.Line, field, "an empty pattern matches nothing")
		}
	}
	// The settings every discovered account gets are checked as one
	// account's would be, on a stand-in id.
	const standIn = "000000000000"
	template := Account{Name: "organization", ID: standIn, ExternalID: o.ExternalID, Regions: o.Regions,
		ManagedTag: o.ManagedTag, Workspaces: o.Workspaces}
	if roleNameRE.MatchString(o.RoleName) {
		template.RoleARN = o.roleARN(standIn)
	}
	var prior []error
	for _, e := range errs {
		ae := *e.(*AccountError)
		ae.Field = strings.TrimPrefix(ae.Field, "organization.")
		prior = append(prior, &ae)
	}
	for _, e := range validateAccount(template, prior) {
		ae := e.(*AccountError)
		if ae.Field == "role_arn" || ae.Field == "id" {
			continue // role_name was checked above
		}
		ae.Account, ae.Line, ae.Field = "", n.Line, "organization."+ae.Field
		if ae.Field == "organization.regions" && len(o.Regions) == 0 {
			ae.Problem = "no regions: list them for the organization, or set CHARLIZE_REGIONS or AWS_REGION"
		}
		errs = append(errs, ae)
	}
	return o, errs
}

// Discovery is what one listing of the organization found.
type Discovery struct {
	Listed     int // active accounts in the organization
	Discovered int // of those, the ones Include and Exclude select
	Overridden int // selected accounts the accounts file lists itself
	Accounts   int // the Fleet's accounts afterwards
	Took       time.Duration
}

// orgPageSize is the largest MaxResults Organizations' list calls accept.
const orgPageSize = 20

// organizationClient builds the Organizations client, on the management
// role when there is one.
func (f *Fleet) organizationClient(base aws.Config, o *Organization) *organizations.Client {
	creds := base.Credentials
	if o.ManagementRoleARN != "" {
		stsClient := sts.NewFromConfig(base, func(so *sts.Options) {
			if so.Region == "" && len(o.Regions) > 0 {
				so.Region = o.Regions[0]
			}
			so.APIOptions = append(slices.Clip(so.APIOptions), f.observer("sts"))
		})
		creds = newCredentialsCache(&assumeRoleProvider{
			client: stsClient, roleARN: o.ManagementRoleARN, externalID: o.ExternalID,
			sessionName: readSessionName, noSourceIdentity: new(atomic.Bool), duration: readSessionDuration,
		})
	}
	return organizations.NewFromConfig(base, func(oo *organizations.Options) {
		oo.Region = o.apiRegion()
		oo.Credentials = creds
		oo.APIOptions = append(slices.Clip(oo.APIOptions), f.observer("organizations"))
	})
}

// orgAccount is one active account of the organization.
type orgAccount struct {
	id, name string
	ou       string // "" unless the OU tree was walked
}

// listOrganization lists the organization's active accounts: with
// ListAccounts, or, when a pattern names an OU path, by walking the OU
// tree from the root (ListRoots, ListOrganizationalUnitsForParent,
// ListAccountsForParent), which is what tells an account's OU.
func (f *Fleet) listOrganization(ctx context.Context, client *organizations.Client, o *Organization) ([]orgAccount, error) {
	var out []orgAccount
	add := func(accts []orgtypes.Account, ou string) {
		for _, a := range accts {
			if active(a) {
				out = append(out, orgAccount{id: aws.ToString(a.Id), name: aws.ToString(a.Name), ou: ou})
			}
		}
	}
	if !o.walksOUs() {
		p := organizations.NewListAccountsPaginator(client, &organizations.ListAccountsInput{MaxResults: aws.Int32(orgPageSize)})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return nil, err
			}
			add(page.Accounts, "")
		}
		return out, nil
	}
	var walk func(parent, path string) error
	walk = func(parent, path string) error {
		ap := organizations.NewListAccountsForParentPaginator(client, &organizations.ListAccountsForParentInput{
			ParentId: aws.String(parent), MaxResults: aws.Int32(orgPageSize)})
		for ap.HasMorePages() {
			page, err := ap.NextPage(ctx)
			if err != nil {
				return err
			}
			add(page.Accounts, path)
		}
		op := organizations.NewListOrganizationalUnitsForParentPaginator(client, &organizations.ListOrganizationalUnitsForParentInput{
			ParentId: aws.String(parent), MaxResults: aws.Int32(orgPageSize)})
		for op.HasMorePages() {
			page, err := op.NextPage(ctx)
			if err != nil {
				return err
			}
			for _, ou := range page.OrganizationalUnits {
				if err := walk(aws.ToString(ou.Id), path+aws.ToString(ou.Name)+"/"); err != nil {
					return err
				}
			}
		}
		return nil
	}
	rp := organizations.NewListRootsPaginator(client, &organizations.ListRootsInput{MaxResults: aws.Int32(orgPageSize)})
	for rp.HasMorePages() {
		page, err := rp.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, r := range page.Roots {
			if err := walk(aws.ToString(r.Id), "/"); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// active reports whether an account can be operated: State is the field
// AWS keeps, Status the one it retires (September 2026).
func active(a orgtypes.Account) bool {
	if a.State != "" {
		return a.State == orgtypes.AccountStateActive
	}
	return a.Status == orgtypes.AccountStatusActive
}

// discoveredAccounts turns the organization's accounts into Accounts,
// leaving out those the file lists (by id) and those Include and Exclude
// do not select. Names are the AWS names made usable in queries; a name
// taken by the file or by another discovered account gets the id appended.
func discoveredAccounts(o *Organization, listed []orgAccount, explicit []Account) (accounts []Account, overridden int) {
	byID := map[string]bool{}
	taken := map[string]bool{}
	for _, a := range explicit {
		if a.ID != "" {
			byID[a.ID] = true
		}
		taken[strings.ToLower(a.Name)] = true
	}
	type candidate struct {
		orgAccount
		name string
	}
	var picked []candidate
	count := map[string]int{}
	for _, l := range listed {
		name := accountName(l.name, l.id)
		if !o.selects(l.name, name, l.id, l.ou) {
			continue
		}
		if byID[l.id] {
			overridden++
			continue
		}
		picked = append(picked, candidate{l, name})
		count[name]++
	}
	slices.SortFunc(picked, func(a, b candidate) int { return strings.Compare(a.id, b.id) })
	for _, c := range picked {
		name := c.name
		if count[name] > 1 || taken[name] {
			name = withID(name, c.id)
		}
		taken[name] = true
		accounts = append(accounts, Account{
			Name: name, ID: c.id, RoleARN: o.roleARN(c.id), ExternalID: o.ExternalID,
			Regions: slices.Clone(o.Regions), ManagedTag: cloneTag(o.ManagedTag), Workspaces: slices.Clone(o.Workspaces),
			Discovered: true, OU: c.ou,
		})
	}
	return accounts, overridden
}

func cloneTag(t *Tag) *Tag {
	if t == nil {
		return nil
	}
	c := *t
	return &c
}

// accountName makes an AWS account name ("Acme Prod (EU)") a name users
// can type and the query language reads as an account ("acme-prod-eu"):
// lower case, runs of other characters as one "-". A name that is left
// empty or would read as a state, region or instance id becomes the id.
func accountName(awsName, id string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(awsName) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-' {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(r)
			continue
		}
		dash = true
	}
	name := strings.TrimLeft(b.String(), "._-")
	if len(name) > 64 {
		name = strings.TrimRight(name[:64], "._-")
	}
	if !accountNameRE.MatchString(name) || knownStates[name] || IsRegion(name) || instanceIDRE.MatchString(name) {
		return id
	}
	return name
}

// withID appends the account id to a name, within the 64 characters.
func withID(name, id string) string {
	if name == id {
		return id
	}
	suffix := "-" + id
	if len(name)+len(suffix) > 64 {
		name = strings.TrimRight(name[:64-len(suffix)], "._-")
	}
	return name + suffix
}
