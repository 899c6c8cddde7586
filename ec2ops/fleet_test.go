package ec2ops_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/google/go-cmp/cmp"

	"github.com/charlize-app/charlize/ec2ops"
	"github.com/charlize-app/charlize/ec2ops/action"
	"github.com/charlize-app/charlize/ec2ops/ec2sim"
)

// Account ids and roles used by the simulator-backed tests.
const (
	prodID   = "111111111111"
	devID    = "222222222222"
	prodRole = "arn:aws:iam::111111111111:role/charlize"
	devRole  = "arn:aws:iam::222222222222:role/charlize"
)

var launch = time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)

// testAccounts: acme-prod in two regions; acme-dev scoped by a managed tag.
func testAccounts() []ec2ops.Account {
	return []ec2ops.Account{
		{Name: "acme-prod", ID: prodID, RoleARN: prodRole, ExternalID: "acme-7f3c", Regions: []string{"eu-west-1", "us-east-1"}},
		{Name: "acme-dev", ID: devID, RoleARN: devRole, Regions: []string{"eu-west-1"},
			ManagedTag: &ec2ops.Tag{Key: "charlize", Value: "managed"}},
	}
}

func testFixture() ec2sim.Fixture {
	return ec2sim.Fixture{Accounts: []ec2sim.FixtureAccount{
		{ID: prodID, ExternalID: "acme-7f3c", Regions: map[string][]ec2sim.Instance{
			"eu-west-1": {
				{ID: "i-0000000000000a001", Type: "t3.micro", State: "running", AZ: "eu-west-1a", PrivateIP: "10.0.0.1", PublicIP: "203.0.113.1",
					LaunchTime: launch, Tags: map[string]string{"Name": "web-1", "env": "prod", "team": "web"}},
				{ID: "i-0000000000000a002", Type: "t3.small", State: "stopped", AZ: "eu-west-1b", PrivateIP: "10.0.0.2",
					LaunchTime: launch, Tags: map[string]string{"Name": "web-2", "env": "staging", "team": "web"}},
				{ID: "i-0000000000000a003", Type: "m5.large", State: "running", AZ: "eu-west-1a", PrivateIP: "10.0.0.3",
					LaunchTime: launch, Platform: "windows", DisableAPITermination: true, Tags: map[string]string{"Name": "db-1", "env": "prod"}},
				{ID: "i-0000000000000a004", Type: "t3.micro", State: "running", AZ: "eu-west-1c", PrivateIP: "10.0.0.4",
					LaunchTime: launch, Tags: map[string]string{"team": "batch"}},
			},
			"us-east-1": {
				{ID: "i-0000000000000b001", Type: "t3.micro", State: "running", AZ: "us-east-1a", PrivateIP: "10.1.0.1",
					LaunchTime: launch, Tags: map[string]string{"Name": "web-3", "env": "prod", "team": "web"}},
			},
		}},
		{ID: devID, Regions: map[string][]ec2sim.Instance{
			"eu-west-1": {
				{ID: "i-0000000000000c001", Type: "t3.micro", State: "running", LaunchTime: launch,
					Tags: map[string]string{"Name": "dev-1", "charlize": "managed"}},
				{ID: "i-0000000000000c002", Type: "t3.micro", State: "running", LaunchTime: launch,
					Tags: map[string]string{"Name": "secret-1"}},
				{ID: "i-0000000000000c003", Type: "t3.micro", State: "stopped", LaunchTime: launch,
					Tags: map[string]string{"Name": "dev-2", "charlize": "other"}},
			},
		}},
	}}
}

type testEnv struct {
	sim   *ec2sim.Sim
	fleet *ec2ops.Fleet
}

type envConfig struct {
	fixture  ec2sim.Fixture
	accounts []ec2ops.Account
	opts     ec2ops.Options
	sim      ec2sim.Options
	// wrap, if set, wraps the simulator's handler (to delay one region, say).
	wrap func(http.Handler) http.Handler
	// aws, if set, changes the AWS config the fleet is built with (to send
	// it somewhere other than the simulator, say).
	aws func(*aws.Config)
}

// testConfig is what config.LoadDefaultConfig would give, pointed at url,
// with a retryer that does not sleep so throttling tests stay fast.
func testConfig(url string) aws.Config {
	return aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDCHARLIZETEST", "secret", ""),
		BaseEndpoint: aws.String(url),
		Retryer: func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return time.Millisecond, nil })
				o.RateLimiter = ratelimit.None
			})
		},
	}
}

func mustEnv(t testing.TB, c envConfig) *testEnv {
	t.Helper()
	if c.fixture.Accounts == nil {
		c.fixture = testFixture()
	}
	if c.accounts == nil {
		c.accounts = testAccounts()
	}
	if c.sim.TransitionTime == 0 {
		c.sim.TransitionTime = 30 * time.Millisecond
	}
	if c.opts.WaitPollInterval == 0 {
		c.opts.WaitPollInterval = 5 * time.Millisecond
	}
	if c.opts.WaitTimeout == 0 {
		c.opts.WaitTimeout = 10 * time.Second
	}
	sim := ec2sim.New(c.sim)
	if err := sim.Load(c.fixture); err != nil {
		t.Fatal(err)
	}
	var h http.Handler = sim
	if c.wrap != nil {
		h = c.wrap(sim)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	cfg := testConfig(srv.URL)
	if c.aws != nil {
		c.aws(&cfg)
	}
	fleet, err := ec2ops.New(cfg, c.accounts, c.opts)
	if err != nil {
		t.Fatal(err)
	}
	return &testEnv{sim: sim, fleet: fleet}
}

func mustParse(t testing.TB, q string) ec2ops.Query {
	t.Helper()
	query, err := ec2ops.ParseQuery(q)
	if err != nil {
		t.Fatalf("ParseQuery(%q) = %v", q, err)
	}
	return query
}

func ids(insts []ec2ops.Instance) []string {
	var out []string
	for _, i := range insts {
		out = append(out, i.ID)
	}
	return out
}

func TestListFilters(t *testing.T) {
	env := mustEnv(t, envConfig{})
	tests := []struct {
		query string
		want  []string
	}{
		// Order is account, region, name, id: acme-dev sorts first; the
		// unnamed instance sorts before named ones.
		{"", []string{"i-0000000000000c001", "i-0000000000000a004", "i-0000000000000a003", "i-0000000000000a001", "i-0000000000000a002", "i-0000000000000b001"}},
		{"running", []string{"i-0000000000000c001", "i-0000000000000a004", "i-0000000000000a003", "i-0000000000000a001", "i-0000000000000b001"}},
		{"state:stopped", []string{"i-0000000000000a002"}},
		{"acme-prod", []string{"i-0000000000000a004", "i-0000000000000a003", "i-0000000000000a001", "i-0000000000000a002", "i-0000000000000b001"}},
		{"account:acme-dev", []string{"i-0000000000000c001"}},
		{"us-east-1", []string{"i-0000000000000b001"}},
		{"region:eu-west-1 acme-prod", []string{"i-0000000000000a004", "i-0000000000000a003", "i-0000000000000a001", "i-0000000000000a002"}},
		{"web*", []string{"i-0000000000000a001", "i-0000000000000a002", "i-0000000000000b001"}},
		{"name:web-? running", []string{"i-0000000000000a001", "i-0000000000000b001"}},
		{"db-1", []string{"i-0000000000000a003"}},
		{"tag:env=prod", []string{"i-0000000000000a003", "i-0000000000000a001", "i-0000000000000b001"}},
		{"tag:env=prod tag:env=staging tag:team=web", []string{"i-0000000000000a001", "i-0000000000000a002", "i-0000000000000b001"}},
		{"tag:team", []string{"i-0000000000000a004", "i-0000000000000a001", "i-0000000000000a002", "i-0000000000000b001"}},
		{"tag:Name=web-1", []string{"i-0000000000000a001"}},
		{"type:t3.*", []string{"i-0000000000000c001", "i-0000000000000a004", "i-0000000000000a001", "i-0000000000000a002", "i-0000000000000b001"}},
		{"type:m5.large", []string{"i-0000000000000a003"}},
		{"i-0000000000000b001", []string{"i-0000000000000b001"}},
		{"id:i-0000000000000a001,i-0000000000000a002 running", []string{"i-0000000000000a001"}},
		{"nothing-matches", nil},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			res, err := env.fleet.List(context.Background(), mustParse(t, tt.query))
			if err != nil {
				t.Fatalf("List(%q) = %v", tt.query, err)
			}
			if len(res.Failures) > 0 {
				t.Errorf("List(%q) failures = %v", tt.query, res.Failures)
			}
			if diff := cmp.Diff(tt.want, ids(res.Instances)); diff != "" {
				t.Errorf("List(%q) ids (-want +got):\n%s", tt.query, diff)
			}
		})
	}
}

// A tag whose value holds `*` (a cron line) is present like any other:
// EC2 finds the instance, and the check after it keeps it.
func TestListTagValueWithStar(t *testing.T) {
	fx := testFixture()
	in := fx.Accounts[0].Regions["us-east-1"][0]
	in.Tags = map[string]string{"Name": "web-3", "cron": "*/5 * * * *"}
	fx.Accounts[0].Regions["us-east-1"][0] = in
	env := mustEnv(t, envConfig{fixture: fx})
	for _, q := range []string{"tag:cron", "tag:cron=*/5*"} {
		res, err := env.fleet.List(context.Background(), mustParse(t, q))
		if err != nil || len(res.Failures) > 0 {
			t.Fatalf("List(%q) = %v, %v", q, res.Failures, err)
		}
		if got := ids(res.Instances); !slices.Equal(got, []string{in.ID}) {
			t.Errorf("List(%q) = %v, want [%s]", q, got, in.ID)
		}
	}
}

func TestListInstanceFields(t *testing.T) {
	env := mustEnv(t, envConfig{})
	res, err := env.fleet.List(context.Background(), mustParse(t, "db-1"))
	if err != nil || len(res.Instances) != 1 {
		t.Fatalf("List(db-1) = %+v, %v", res, err)
	}
	want := ec2ops.Instance{
		Account: "acme-prod", Region: "eu-west-1", ID: "i-0000000000000a003", Name: "db-1", Type: "m5.large",
		State: "running", AZ: "eu-west-1a", PrivateIP: "10.0.0.3", Platform: "windows", LaunchTime: launch,
		Tags: map[string]string{"Name": "db-1", "env": "prod"},
	}
	if diff := cmp.Diff(want, res.Instances[0]); diff != "" {
		t.Errorf("List(db-1) instance (-want +got):\n%s", diff)
	}
}

func TestListQueryErrors(t *testing.T) {
	env := mustEnv(t, envConfig{})
	for _, q := range []string{"account:nope", "region:ap-south-1", "acme-dev region:us-east-1"} {
		_, err := env.fleet.List(context.Background(), mustParse(t, q))
		if !errors.Is(err, ec2ops.KindInvalidQuery) {
			t.Errorf("List(%q) = %v, want KindInvalidQuery", q, err)
		}
	}
}

func TestListPagination(t *testing.T) {
	const n = 23
	var insts []ec2sim.Instance
	for i := range n {
		insts = append(insts, ec2sim.Instance{ID: "i-" + strings.Repeat("0", 14) + string(rune('a'+i/10)) + string(rune('0'+i%10)) + "0",
			State: "running", Tags: map[string]string{"Name": "node"}})
	}
	fixture := ec2sim.Fixture{Accounts: []ec2sim.FixtureAccount{{ID: prodID, Regions: map[string][]ec2sim.Instance{"eu-west-1": insts}}}}
	env := mustEnv(t, envConfig{
		fixture:  fixture,
		accounts: []ec2ops.Account{{Name: "big", ID: prodID, RoleARN: prodRole, Regions: []string{"eu-west-1"}}},
		opts:     ec2ops.Options{PageSize: 5},
	})
	res, err := env.fleet.List(context.Background(), ec2ops.Query{})
	if err != nil {
		t.Fatal(err)
	}
	if got := len(res.Instances); got != n {
		t.Errorf("List found %d instances, want %d", got, n)
	}
	if got, want := env.sim.Calls("DescribeInstances"), 5; got != want {
		t.Errorf("DescribeInstances calls = %d, want %d pages", got, want)
	}
	// Name ties are broken by id.
	if !slices.IsSorted(ids(res.Instances)) {
		t.Errorf("instances with equal names are not in id order: %v", ids(res.Instances))
	}
}

// delayRegion holds requests signed for region for d, to simulate a region
// that does not answer.
func delayRegion(region string, d time.Duration) func(http.Handler) http.Handler {
	scope := regexp.MustCompile(`Credential=[^/]+/\d{8}/` + regexp.QuoteMeta(region) + `/ec2/`)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if scope.MatchString(r.Header.Get("Authorization")) {
				// Read the body first: only then does net/http notice the
				// client hanging up and cancel r.Context().
				body, _ := io.ReadAll(r.Body)
				r.Body = io.NopCloser(bytes.NewReader(body))
				select {
				case <-time.After(d):
				case <-r.Context().Done():
					return
				}
			}
			next.ServeHTTP(w, r)
		})
	}
}

func TestListPartialFailure(t *testing.T) {
	tests := []struct {
		name         string
		fault        *ec2sim.Fault
		wrap         func(http.Handler) http.Handler
		failed       []string // account/region
		kind         ec2ops.Kind
		message      string
		wantSurvivor string // an instance that must still be listed
	}{
		{
			name:   "access denied in one region",
			fault:  &ec2sim.Fault{Account: prodID, Region: "us-east-1", Action: "DescribeInstances", Code: "UnauthorizedOperation"},
			failed: []string{"acme-prod/us-east-1"}, kind: ec2ops.KindAccessDenied,
			message:      "the role " + prodRole + " lacks ec2:DescribeInstances in acme-prod (us-east-1) — an AWS admin can grant it in the role's IAM policy",
			wantSurvivor: "i-0000000000000a001",
		},
		{
			name:   "throttled after retries",
			fault:  &ec2sim.Fault{Account: devID, Action: "DescribeInstances", Code: "RequestLimitExceeded"},
			failed: []string{"acme-dev/eu-west-1"}, kind: ec2ops.KindThrottled,
			message:      "AWS is throttling Charlize's requests in acme-dev (eu-west-1); try again in a minute",
			wantSurvivor: "i-0000000000000b001",
		},
		{
			name:   "assume role denied for one account",
			fault:  &ec2sim.Fault{Account: prodID, Action: "AssumeRole", Code: "AccessDenied"},
			failed: []string{"acme-prod/eu-west-1", "acme-prod/us-east-1"}, kind: ec2ops.KindAssumeRole,
			message:      "Charlize could not assume the role " + prodRole + " for acme-prod (eu-west-1) — AWS refused sts:AssumeRole; check the role's trust policy and external id",
			wantSurvivor: "i-0000000000000c001",
		},
		{
			name:   "region times out",
			wrap:   delayRegion("us-east-1", 5*time.Second),
			failed: []string{"acme-prod/us-east-1"}, kind: ec2ops.KindUnreachable,
			message:      "AWS did not answer in time for acme-prod (us-east-1); try again in a minute, and if it keeps happening, whoever runs Charlize should check its network access to AWS",
			wantSurvivor: "i-0000000000000a001",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := mustEnv(t, envConfig{wrap: tt.wrap, opts: ec2ops.Options{RegionTimeout: 300 * time.Millisecond}})
			if tt.fault != nil {
				env.sim.AddFault(*tt.fault)
			}
			res, err := env.fleet.List(context.Background(), ec2ops.Query{})
			if err != nil {
				t.Fatalf("List = %v; one account-region failing must not fail the listing", err)
			}
			var failed []string
			for _, f := range res.Failures {
				failed = append(failed, f.Account+"/"+f.Region)
				var e *ec2ops.Error
				if !errors.As(f.Err, &e) || e.Kind != tt.kind {
					t.Errorf("failure %s/%s = %v, want kind %v", f.Account, f.Region, f.Err, tt.kind)
					continue
				}
				if got := e.UserMessage(); got != tt.message && f.Region == strings.Split(tt.failed[0], "/")[1] {
					t.Errorf("failure UserMessage() = %q, want %q", got, tt.message)
				}
				assertNoRequestID(t, e.UserMessage())
			}
			if diff := cmp.Diff(tt.failed, failed); diff != "" {
				t.Errorf("failures (-want +got):\n%s", diff)
			}
			if !slices.Contains(ids(res.Instances), tt.wantSurvivor) {
				t.Errorf("instances %v lack %s from a healthy account-region", ids(res.Instances), tt.wantSurvivor)
			}
		})
	}
}

var uuidRE = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)

func assertNoRequestID(t *testing.T, msg string) {
	t.Helper()
	if uuidRE.MatchString(msg) || strings.Contains(strings.ToLower(msg), "request id") || strings.Contains(msg, "RequestID") {
		t.Errorf("user message %q leaks a request id", msg)
	}
}

func TestManagedTagScope(t *testing.T) {
	env := mustEnv(t, envConfig{})
	ctx := context.Background()
	for _, q := range []string{"acme-dev", "secret-1", "i-0000000000000c002", "tag:charlize=other", "dev-2"} {
		res, err := env.fleet.List(ctx, mustParse(t, q))
		if err != nil {
			t.Fatal(err)
		}
		for _, inst := range res.Instances {
			if inst.Tags["charlize"] != "managed" && inst.Account == "acme-dev" {
				t.Errorf("List(%q) shows %s (%s), which is outside the managed-tag scope", q, inst.ID, inst.Name)
			}
		}
	}
	for _, id := range []string{"i-0000000000000c002", "i-0000000000000c003"} {
		if _, err := env.fleet.Describe(ctx, "acme-dev", "eu-west-1", id); !errors.Is(err, ec2ops.KindNotFound) {
			t.Errorf("Describe(%s) = %v, want KindNotFound", id, err)
		}
		_, err := env.fleet.Do(ctx, ec2ops.ActionRequest{Action: action.Stop, Account: "acme-dev", Region: "eu-west-1", InstanceID: id, Actor: "alice"}, nil)
		if !errors.Is(err, ec2ops.KindNotFound) {
			t.Errorf("Do(stop %s) = %v, want KindNotFound", id, err)
		}
	}
	if n := env.sim.Calls("StopInstances"); n != 0 {
		t.Errorf("StopInstances called %d times on out-of-scope instances", n)
	}
	if _, err := env.fleet.Describe(ctx, "acme-dev", "eu-west-1", "i-0000000000000c001"); err != nil {
		t.Errorf("Describe(in scope) = %v", err)
	}
}

func TestCredentialCaching(t *testing.T) {
	env := mustEnv(t, envConfig{})
	ctx := context.Background()
	for range 5 {
		if _, err := env.fleet.List(ctx, ec2ops.Query{}); err != nil {
			t.Fatal(err)
		}
	}
	// One AssumeRole per account, shared by its regions and by every
	// listing: acme-prod's two regions run concurrently on a cold cache.
	if got := env.sim.Calls("AssumeRole"); got != 2 {
		t.Errorf("AssumeRole calls after 5 listings = %d, want 2 (one per account)", got)
	}
	if got := env.sim.Calls("DescribeInstances"); got != 15 {
		t.Errorf("DescribeInstances calls = %d, want 15", got)
	}
	for _, c := range env.sim.CallLog() {
		if c.Action == "AssumeRole" && c.RoleARN == prodRole && c.ExternalID != "acme-7f3c" {
			t.Errorf("AssumeRole for acme-prod sent external id %q", c.ExternalID)
		}
		if c.Action == "DescribeInstances" && c.SessionName != "charlize" {
			t.Errorf("DescribeInstances used session %q, want the shared read session", c.SessionName)
		}
	}
}

// TestCredentialCachingConcurrent races many cold listings: the cache must
// still make one AssumeRole per account.
func TestCredentialCachingConcurrent(t *testing.T) {
	env := mustEnv(t, envConfig{sim: ec2sim.Options{Latency: 20 * time.Millisecond}})
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			res, err := env.fleet.List(context.Background(), ec2ops.Query{})
			if err != nil || len(res.Failures) > 0 {
				t.Errorf("List = %+v, %v", res.Failures, err)
			}
		})
	}
	wg.Wait()
	if got := env.sim.Calls("AssumeRole"); got != 2 {
		t.Errorf("AssumeRole calls after 8 concurrent cold listings = %d, want 2", got)
	}
}

// TestCredentialRefreshBeforeExpiry: credentials that expire within the
// refresh window are replaced before use instead of being used until AWS
// rejects them.
func TestCredentialRefreshBeforeExpiry(t *testing.T) {
	env := mustEnv(t, envConfig{sim: ec2sim.Options{CredentialTTL: 30 * time.Second}})
	for range 3 {
		if _, err := env.fleet.List(context.Background(), mustParse(t, "acme-dev")); err != nil {
			t.Fatal(err)
		}
	}
	if got := env.sim.Calls("AssumeRole"); got != 3 {
		t.Errorf("AssumeRole calls with soon-expiring credentials = %d, want 3 (refresh each time)", got)
	}
}

func TestObserve(t *testing.T) {
	var (
		mu   sync.Mutex
		seen = map[string]int{}
	)
	env := mustEnv(t, envConfig{opts: ec2ops.Options{Observe: func(op, outcome string, d time.Duration) {
		mu.Lock()
		defer mu.Unlock()
		seen[op+" "+outcome]++
	}}})
	env.sim.AddFault(ec2sim.Fault{Account: devID, Action: "DescribeInstances", Code: "UnauthorizedOperation"})
	if _, err := env.fleet.List(context.Background(), ec2ops.Query{}); err != nil {
		t.Fatal(err)
	}
	want := map[string]int{
		"sts:AssumeRole ok":                   2,
		"ec2:DescribeInstances ok":            2,
		"ec2:DescribeInstances access_denied": 1,
	}
	if diff := cmp.Diff(want, seen); diff != "" {
		t.Errorf("observed calls (-want +got):\n%s", diff)
	}
}

func TestAmbientAccount(t *testing.T) {
	fixture := ec2sim.Fixture{Accounts: []ec2sim.FixtureAccount{{ID: ec2sim.DefaultAccountID, Regions: map[string][]ec2sim.Instance{
		"eu-west-1": {{ID: "i-0000000000000d001", State: "running", Tags: map[string]string{"Name": "solo"}}},
	}}}}
	accounts, err := ec2ops.LoadAccounts("", []string{"eu-west-1"})
	if err != nil {
		t.Fatal(err)
	}
	env := mustEnv(t, envConfig{fixture: fixture, accounts: accounts})
	res, err := env.fleet.List(context.Background(), ec2ops.Query{})
	if err != nil || len(res.Failures) > 0 || len(res.Instances) != 1 {
		t.Fatalf("List = %+v, %v", res, err)
	}
	if _, err := env.fleet.Do(context.Background(), ec2ops.ActionRequest{Action: action.Stop, Account: "default",
		Region: "eu-west-1", InstanceID: "i-0000000000000d001", Actor: "alice"}, nil); err != nil {
		t.Fatalf("Do(stop) = %v", err)
	}
	if got := env.sim.Calls("AssumeRole"); got != 0 {
		t.Errorf("AssumeRole calls for the ambient account = %d, want 0", got)
	}
}

func TestNewRejectsBadInput(t *testing.T) {
	cfg := testConfig("http://127.0.0.1:1")
	tests := []struct {
		name     string
		accounts []ec2ops.Account
		opts     ec2ops.Options
	}{
		{"no accounts", nil, ec2ops.Options{}},
		{"duplicate names", []ec2ops.Account{{Name: "a", ID: prodID, RoleARN: prodRole, Regions: []string{"eu-west-1"}}, {Name: "A", ID: devID, RoleARN: devRole, Regions: []string{"eu-west-1"}}}, ec2ops.Options{}},
		{"no regions", []ec2ops.Account{{Name: "a", ID: prodID, RoleARN: prodRole}}, ec2ops.Options{}},
		{"two ambient accounts", []ec2ops.Account{{Name: "a", ID: prodID, Regions: []string{"eu-west-1"}}, {Name: "b", ID: devID, Regions: []string{"eu-west-1"}}}, ec2ops.Options{}},
		{"page size", testAccounts(), ec2ops.Options{PageSize: 2000}},
		{"concurrency", testAccounts(), ec2ops.Options{Concurrency: -1}},
	}
	for _, tt := range tests {
		if _, err := ec2ops.New(cfg, tt.accounts, tt.opts); err == nil {
			t.Errorf("New(%s) = nil error", tt.name)
		}
	}
}

func TestAccountsReturnsCopies(t *testing.T) {
	env := mustEnv(t, envConfig{})
	got := env.fleet.Accounts()
	if diff := cmp.Diff(testAccounts(), got); diff != "" {
		t.Errorf("Accounts() (-want +got):\n%s", diff)
	}
	got[0].Regions[0] = "xx-mutated-1"
	if env.fleet.Accounts()[0].Regions[0] != "eu-west-1" {
		t.Error("Accounts() exposes the fleet's own slices")
	}
}
