package ec2ops_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/charlize-app/charlize/ec2ops"
	"github.com/charlize-app/charlize/ec2ops/ec2sim"
)

const (
	mgmtID   = "999999999999"
	mgmtRole = "arn:aws:iam::999999999999:role/charlize-org-reader"
)

func TestLoadAccountsFileOrganization(t *testing.T) {
	path := mustWriteFile(t, `
organization:
  management_role_arn: arn:aws:iam::999999999999:role/charlize-org-reader
  role_name: ops/charlize
  external_id: acme-7f3c
  regions: [eu-west-1, us-east-1]
  include: ["/Prod/*", "acme-*"]
  exclude: ["*-sandbox"]
  managed_tag: {key: charlize, value: managed}
  workspaces: [T0001]
  refresh: 5m
accounts:
  - name: acme-prod
    id: "111111111111"
    role_arn: arn:aws:iam::111111111111:role/charlize
`)
	got, err := ec2ops.LoadAccountsFile(path, []string{"ap-south-1"})
	if err != nil {
		t.Fatalf("LoadAccountsFile = %v", err)
	}
	want := &ec2ops.Organization{
		ManagementRoleARN: mgmtRole, RoleName: "ops/charlize", ExternalID: "acme-7f3c",
		Regions: []string{"eu-west-1", "us-east-1"}, Include: []string{"/Prod/*", "acme-*"}, Exclude: []string{"*-sandbox"},
		ManagedTag: &ec2ops.Tag{Key: "charlize", Value: "managed"}, Workspaces: []string{"T0001"}, Refresh: 5 * time.Minute,
	}
	if diff := cmp.Diff(want, got.Organization); diff != "" {
		t.Errorf("organization (-want +got):\n%s", diff)
	}
	if len(got.Accounts) != 1 || got.Accounts[0].Name != "acme-prod" || got.Accounts[0].Regions[0] != "ap-south-1" {
		t.Errorf("accounts = %+v, want acme-prod in the fallback region", got.Accounts)
	}

	// An organization alone is a whole accounts file; regions fall back.
	path = mustWriteFile(t, "organization: {role_name: charlize}\n")
	got, err = ec2ops.LoadAccountsFile(path, []string{"eu-west-1"})
	if err != nil || len(got.Accounts) != 0 || got.Organization == nil ||
		!slices.Equal(got.Organization.Regions, []string{"eu-west-1"}) || got.Organization.Refresh != ec2ops.DefaultOrganizationRefresh {
		t.Errorf("LoadAccountsFile(organization only) = %+v, %v; want no accounts, fallback regions, default refresh", got, err)
	}
}

func TestLoadAccountsFileOrganizationErrors(t *testing.T) {
	tests := []struct {
		name, file string
		fallback   []string
		want       []string // "field: problem" substrings, one per error
	}{
		{"role name missing", "organization: {regions: [eu-west-1]}\n", nil,
			[]string{"organization.role_name: is required"}},
		{"bad role name", "organization: {role_name: 'a b', regions: [eu-west-1]}\n", nil,
			[]string{`organization.role_name: "a b" is not an IAM role name`}},
		{"bad management role", "organization: {role_name: c, management_role_arn: nope, regions: [eu-west-1]}\n", nil,
			[]string{`organization.management_role_arn: "nope" is not an IAM role ARN`}},
		{"unknown field", "organization: {role_name: c, regions: [eu-west-1], role_arn: x}\n", nil,
			[]string{"organization.role_arn: unknown field"}},
		{"no regions", "organization: {role_name: c}\n", nil,
			[]string{"organization.regions: no regions: list them for the organization, or set CHARLIZE_REGIONS or AWS_REGION"}},
		{"bad region and workspace", "organization: {role_name: c, regions: [mars-1], workspaces: [nope]}\n", nil,
			[]string{`organization.regions: "mars-1" is not a region name`, `organization.workspaces: "nope" is not a Slack team id`}},
		{"refresh too short", "organization: {role_name: c, refresh: 10s}\n", []string{"eu-west-1"},
			[]string{`organization.refresh: "10s" must be a duration of at least 1m`}},
		{"empty pattern", "organization: {role_name: c, include: [''], exclude: [x]}\n", []string{"eu-west-1"},
			[]string{"organization.include: an empty pattern matches nothing"}},
		{"not a mapping", "organization: [role_name]\n", nil,
			[]string{"organization: must be a mapping"}},
		{"managed tag", "organization: {role_name: c, regions: [eu-west-1], managed_tag: {key: k, vale: v}}\n", nil,
			[]string{"organization.managed_tag.vale: unknown field", "organization.managed_tag.value: must be 1-256 characters"}},
		{"neither accounts nor organization", "accounts: []\n", nil,
			[]string{"accounts: must be a non-empty list (or give an organization)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ec2ops.LoadAccountsFile(mustWriteFile(t, tt.file), tt.fallback)
			errs := accountErrors(err)
			if len(errs) != len(tt.want) {
				t.Fatalf("LoadAccountsFile = %d errors (%v), want %d: %q", len(errs), err, len(tt.want), tt.want)
			}
			for i, w := range tt.want {
				if got := errs[i].Error(); !strings.Contains(got, w) {
					t.Errorf("error %d = %q, want it to contain %q", i, got, w)
				}
			}
		})
	}
}

// orgFixture is a small organization managed by mgmtID: the test fixture's
// two accounts and those given.
func orgFixture(members ...ec2sim.FixtureMember) ec2sim.Fixture {
	f := testFixture()
	f.Accounts = append(f.Accounts, ec2sim.FixtureAccount{ID: mgmtID})
	f.Organization = &ec2sim.FixtureOrganization{ManagementAccount: mgmtID, Accounts: append([]ec2sim.FixtureMember{
		{ID: prodID, Name: "Acme Prod (EU)", OU: "/Prod"},
		{ID: devID, Name: "acme dev", OU: "/Dev"},
	}, members...)}
	return f
}

func orgOf(mod func(o *ec2ops.Organization)) *ec2ops.Organization {
	o := &ec2ops.Organization{ManagementRoleARN: mgmtRole, RoleName: "charlize", ExternalID: "acme-7f3c",
		Regions: []string{"eu-west-1"}, Refresh: time.Hour}
	if mod != nil {
		mod(o)
	}
	return o
}

func names(accounts []ec2ops.Account) []string {
	var out []string
	for _, a := range accounts {
		out = append(out, a.Name)
	}
	return out
}

func TestDiscover(t *testing.T) {
	var members []ec2sim.FixtureMember
	for i := range 45 { // three pages of 20
		members = append(members, ec2sim.FixtureMember{ID: fmt.Sprintf("3000000000%02d", i), Name: fmt.Sprintf("team-%02d", i)})
	}
	members = append(members,
		ec2sim.FixtureMember{ID: "400000000001", Name: "gone", State: "SUSPENDED"},
		ec2sim.FixtureMember{ID: "400000000002", Name: "closing", State: "PENDING_CLOSURE"},
		ec2sim.FixtureMember{ID: "400000000003", Name: "running"},    // reads as a state: named by its id
		ec2sim.FixtureMember{ID: "400000000004", Name: "Team 01"},    // collides with team-01
		ec2sim.FixtureMember{ID: "400000000005", Name: "file-dev"},   // collides with an explicit account
		ec2sim.FixtureMember{ID: mgmtID, Name: "Management Account"}, // the management account is a member too
		ec2sim.FixtureMember{ID: "400000000006", Name: "Ω"},          // nothing usable left
	)
	explicit := []ec2ops.Account{{Name: "file-dev", ID: devID, RoleARN: devRole, Regions: []string{"us-east-1"}}}
	env := mustEnv(t, envConfig{fixture: orgFixture(members...), accounts: explicit, opts: ec2ops.Options{Organization: orgOf(nil)}})

	if got := names(env.fleet.Accounts()); !slices.Equal(got, []string{"file-dev"}) {
		t.Fatalf("Accounts before Discover = %v, want the file's only", got)
	}
	d, err := env.fleet.Discover(context.Background())
	if err != nil {
		t.Fatalf("Discover = %v", err)
	}
	// 2 + 45 + 7 members, 2 of them not active; devID is the file's.
	if want := (ec2ops.Discovery{Listed: 52, Discovered: 52, Overridden: 1, Accounts: 52}); d.Listed != want.Listed ||
		d.Discovered != want.Discovered || d.Overridden != want.Overridden || d.Accounts != want.Accounts {
		t.Errorf("Discover = %+v, want %+v", d, want)
	}
	if n := env.sim.Calls("ListAccounts"); n != 3 {
		t.Errorf("ListAccounts calls = %d, want 3 pages of 20", n)
	}
	for _, c := range env.sim.CallLog() {
		if c.Action == "AssumeRole" && (c.RoleARN != mgmtRole || c.SessionName != "charlize") {
			t.Errorf("AssumeRole %s as %s, want only the management role for listing", c.RoleARN, c.SessionName)
		}
	}
	accounts := env.fleet.Accounts()
	byName := map[string]ec2ops.Account{}
	for _, a := range accounts {
		byName[a.Name] = a
	}
	if a := accounts[0]; a.Name != "file-dev" || a.Discovered || !slices.Equal(a.Regions, []string{"us-east-1"}) {
		t.Errorf("first account = %+v, want the file's file-dev as written", a)
	}
	for name, id := range map[string]string{
		"acme-prod-eu":          prodID,
		"team-00":               "300000000000",
		"team-01-300000000001":  "300000000001",
		"team-01-400000000004":  "400000000004",
		"400000000003":          "400000000003",
		"400000000006":          "400000000006",
		"file-dev-400000000005": "400000000005",
		"management-account":    mgmtID,
	} {
		a, ok := byName[name]
		if !ok {
			t.Errorf("no discovered account %s (%s); have %v", name, id, names(accounts))
			continue
		}
		if a.ID != id || !a.Discovered || a.RoleARN != "arn:aws:iam::"+id+":role/charlize" || !slices.Equal(a.Regions, []string{"eu-west-1"}) {
			t.Errorf("account %s = %+v, want id %s through role charlize in eu-west-1", name, a, id)
		}
	}
	for _, gone := range []string{"gone", "closing", "acme-dev", "running"} {
		if _, ok := byName[gone]; ok {
			t.Errorf("account %s was discovered; suspended, closing and overridden accounts must not be", gone)
		}
	}

	// The discovered accounts are reached through their role.
	res, err := env.fleet.List(context.Background(), ec2ops.Query{Accounts: []string{"acme-prod-eu"}})
	if err != nil || len(res.Failures) > 0 || len(res.Instances) != 4 {
		t.Errorf("List(acme-prod-eu) = %d instances, %v, %v; want the 4 of eu-west-1", len(res.Instances), res.Failures, err)
	}
}

func TestDiscoverIncludeExclude(t *testing.T) {
	members := []ec2sim.FixtureMember{
		{ID: "300000000001", Name: "web-prod", OU: "/Prod/Web"},
		{ID: "300000000002", Name: "web-sandbox", OU: "/Prod/Web"},
		{ID: "300000000003", Name: "data", OU: "/Data"},
		{ID: "300000000004", Name: "root-level"},
	}
	tests := []struct {
		name             string
		include, exclude []string
		want             []string
		walks            bool
	}{
		{"everything", nil, nil, []string{"acme-prod-eu", "acme-dev", "web-prod", "web-sandbox", "data", "root-level"}, false},
		{"by name", []string{"web-*"}, []string{"*-sandbox"}, []string{"web-prod"}, false},
		{"by AWS name or id", []string{"Acme Prod*", "300000000003"}, nil, []string{"acme-prod-eu", "data"}, false},
		{"in an OU and below", []string{"/Prod/*"}, nil, []string{"acme-prod-eu", "web-prod", "web-sandbox"}, true},
		{"directly in an OU", []string{"/Prod/"}, nil, []string{"acme-prod-eu"}, true},
		{"at the root", []string{"/"}, nil, []string{"root-level"}, true},
		{"excluding an OU", nil, []string{"/Prod/Web/*", "/Dev/*"}, []string{"acme-prod-eu", "data", "root-level"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			org := orgOf(func(o *ec2ops.Organization) { o.Include, o.Exclude = tt.include, tt.exclude })
			env := mustEnv(t, envConfig{fixture: orgFixture(members...), accounts: []ec2ops.Account{}, opts: ec2ops.Options{Organization: org}})
			if _, err := env.fleet.Discover(context.Background()); err != nil {
				t.Fatalf("Discover = %v", err)
			}
			got := names(env.fleet.Accounts())
			if !sameSet(got, tt.want) {
				t.Errorf("Discover(include %q, exclude %q) = %v, want %v", tt.include, tt.exclude, got, tt.want)
			}
			walked := env.sim.Calls("ListAccountsForParent") > 0 && env.sim.Calls("ListRoots") == 1
			if walked != tt.walks || walked == (env.sim.Calls("ListAccounts") > 0) {
				t.Errorf("ListAccounts %d, ListRoots %d, ListAccountsForParent %d calls; want the OU tree walked = %v (and ListAccounts otherwise)",
					env.sim.Calls("ListAccounts"), env.sim.Calls("ListRoots"), env.sim.Calls("ListAccountsForParent"), tt.walks)
			}
			if tt.walks {
				for _, a := range env.fleet.Accounts() {
					if a.Name == "web-prod" && a.OU != "/Prod/Web/" {
						t.Errorf("web-prod OU = %q, want /Prod/Web/", a.OU)
					}
				}
			}
		})
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

func TestDiscoverFailures(t *testing.T) {
	t.Run("not the management account", func(t *testing.T) {
		org := orgOf(func(o *ec2ops.Organization) { o.ManagementRoleARN = prodRole })
		env := mustEnv(t, envConfig{fixture: orgFixture(), opts: ec2ops.Options{Organization: org}})
		_, err := env.fleet.Discover(context.Background())
		var e *ec2ops.Error
		if !errors.As(err, &e) || e.Kind != ec2ops.KindAccessDenied || e.IAMAction != "organizations:ListAccounts" || e.RoleARN != prodRole {
			t.Fatalf("Discover from a member account = %v, want access denied to organizations:ListAccounts for %s", err, prodRole)
		}
		if got := names(env.fleet.Accounts()); !slices.Equal(got, []string{"acme-prod", "acme-dev"}) {
			t.Errorf("Accounts after a failed Discover = %v, want the file's unchanged", got)
		}
	})
	t.Run("management role not assumable", func(t *testing.T) {
		org := orgOf(func(o *ec2ops.Organization) { o.ManagementRoleARN = "arn:aws:iam::888888888888:role/nope" })
		env := mustEnv(t, envConfig{fixture: orgFixture(), accounts: []ec2ops.Account{}, opts: ec2ops.Options{Organization: org}})
		_, err := env.fleet.Discover(context.Background())
		if !errors.Is(err, ec2ops.KindAssumeRole) {
			t.Fatalf("Discover = %v, want an assume-role error", err)
		}
		if n := len(env.fleet.Accounts()); n != 0 {
			t.Errorf("Accounts = %d, want none", n)
		}
	})
	t.Run("a listing that fails keeps the last accounts", func(t *testing.T) {
		env := mustEnv(t, envConfig{fixture: orgFixture(), accounts: []ec2ops.Account{}, opts: ec2ops.Options{Organization: orgOf(nil)}})
		if _, err := env.fleet.Discover(context.Background()); err != nil {
			t.Fatal(err)
		}
		remove := env.sim.AddFault(ec2sim.Fault{Action: "ListAccounts", Code: "ServiceException"})
		defer remove()
		_, err := env.fleet.Discover(context.Background())
		var e *ec2ops.Error
		if !errors.As(err, &e) || e.Code != "ServiceException" {
			// The code is what the error→text path shows and logs, as for every other AWS call.
			t.Fatalf("Discover with a failing ListAccounts = %v, want an error carrying AWS's code ServiceException", err)
		}
		if got := names(env.fleet.Accounts()); !sameSet(got, []string{"acme-prod-eu", "acme-dev"}) {
			t.Errorf("Accounts = %v, want the last discovered", got)
		}
	})
	t.Run("no organization", func(t *testing.T) {
		env := mustEnv(t, envConfig{})
		if _, err := env.fleet.Discover(context.Background()); !errors.Is(err, ec2ops.KindInvalidRequest) {
			t.Errorf("Discover without an organization = %v, want invalid request", err)
		}
	})
}

// TestDiscoverWhileListing rediscovers the organization, whose accounts
// come and go, while listings and describes run: every listing sees one
// consistent account set, and accounts that stay keep their credentials.
func TestDiscoverWhileListing(t *testing.T) {
	fx := orgFixture()
	env := mustEnv(t, envConfig{fixture: fx, accounts: []ec2ops.Account{}, opts: ec2ops.Options{Organization: orgOf(nil)}})
	ctx := context.Background()
	if _, err := env.fleet.Discover(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := env.fleet.List(ctx, ec2ops.Query{}); err != nil {
		t.Fatal(err)
	}
	assumes := env.sim.Calls("AssumeRole")

	var wg sync.WaitGroup
	stop := make(chan struct{})
	var listings atomic.Int32
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				res, err := env.fleet.List(ctx, ec2ops.Query{States: []string{"running"}})
				if err != nil || len(res.Failures) > 0 {
					t.Errorf("List during discovery = %v, %v", res.Failures, err)
					return
				}
				if _, err := env.fleet.Describe(ctx, "acme-prod-eu", "eu-west-1", "i-0000000000000a001"); err != nil {
					t.Errorf("Describe during discovery = %v", err)
					return
				}
				listings.Add(1)
			}
		})
	}
	extra := ec2sim.FixtureMember{ID: "300000000009", Name: "newcomer"}
	for i := range 20 {
		next := orgFixture()
		if i%2 == 0 {
			next = orgFixture(extra)
			next.Accounts = append(next.Accounts, ec2sim.FixtureAccount{ID: extra.ID})
		}
		if err := env.sim.Load(ec2sim.Fixture{Accounts: next.Accounts[2:], Organization: next.Organization}); err != nil {
			t.Fatal(err)
		}
		d, err := env.fleet.Discover(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if want := 2 + (1 - i%2); d.Accounts != want {
			t.Errorf("Discover %d = %d accounts, want %d", i, d.Accounts, want)
		}
	}
	for listings.Load() < 8 {
		runtime.Gosched()
	}
	close(stop)
	wg.Wait()
	// Only the newcomer, added ten times anew, assumed its role again:
	// the accounts that stayed kept their credentials.
	if n := env.sim.Calls("AssumeRole") - assumes; n > 10 {
		t.Errorf("AssumeRole calls during rediscovery = %d, want at most the newcomer's 10", n)
	}
}

func TestRunDiscovery(t *testing.T) {
	org := orgOf(func(o *ec2ops.Organization) { o.Refresh = time.Millisecond })
	env := mustEnv(t, envConfig{fixture: orgFixture(), accounts: []ec2ops.Account{}, opts: ec2ops.Options{Organization: org}})
	ctx, cancel := context.WithCancel(context.Background())
	reports := make(chan ec2ops.Discovery)
	done := make(chan struct{})
	go func() {
		defer close(done)
		env.fleet.RunDiscovery(ctx, nil, func(d ec2ops.Discovery, err error) {
			if err != nil {
				t.Errorf("RunDiscovery reported %v", err)
			}
			select {
			case reports <- d:
			case <-ctx.Done():
			}
		})
	}()
	if d := <-reports; d.Accounts != 2 {
		t.Errorf("first refresh = %+v, want 2 accounts", d)
	}
	next := orgFixture(ec2sim.FixtureMember{ID: "300000000009", Name: "newcomer"})
	if err := env.sim.Load(ec2sim.Fixture{Accounts: []ec2sim.FixtureAccount{{ID: "300000000009"}}, Organization: next.Organization}); err != nil {
		t.Fatal(err)
	}
	for d := range reports {
		if d.Accounts == 3 {
			break
		}
	}
	if !slices.Contains(names(env.fleet.Accounts()), "newcomer") {
		t.Errorf("Accounts = %v, want the newcomer after a refresh", names(env.fleet.Accounts()))
	}
	cancel()
	<-done // RunDiscovery ends with its context
}

// A start-up listing that failed (a brief denial, throttling past the
// SDK's retries) leaves an organization-only deployment with no accounts:
// it is retried after Retry, not after a whole refresh interval.
func TestRunDiscoveryRetriesAFailedStart(t *testing.T) {
	org := orgOf(func(o *ec2ops.Organization) { o.Refresh, o.Retry = time.Hour, 20*time.Millisecond })
	env := mustEnv(t, envConfig{fixture: orgFixture(), accounts: []ec2ops.Account{}, opts: ec2ops.Options{Organization: org}})
	remove := env.sim.AddFault(ec2sim.Fault{Action: "ListAccounts", Code: "AccessDeniedException", Times: 1})
	defer remove()
	_, startErr := env.fleet.Discover(context.Background())
	if startErr == nil {
		t.Fatal("the start-up listing did not fail")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	type outcome struct {
		d   ec2ops.Discovery
		err error
	}
	reports := make(chan outcome)
	done := make(chan struct{})
	go func() {
		defer close(done)
		env.fleet.RunDiscovery(ctx, startErr, func(d ec2ops.Discovery, err error) {
			select {
			case reports <- outcome{d, err}:
			case <-ctx.Done():
			}
		})
	}()
	select {
	case r := <-reports:
		if r.err != nil || r.d.Accounts != 2 {
			t.Errorf("the retry after a failed start = %+v, %v; want 2 accounts", r.d, r.err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("a failed start-up listing was not retried (the next refresh is an hour away)")
	}
	cancel()
	<-done
}
