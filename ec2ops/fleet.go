// Package ec2ops is the part of Charlize that talks to AWS: it loads the
// accounts Charlize may touch, lists EC2 instances across accounts and
// regions, parses the query language users type, performs instance actions
// (start, stop, reboot, restart, terminate, status) with the checks, waits
// and error messages a Slack user needs, dry-runs them, and reads what the
// instance card shows beyond the instance: CloudWatch metrics and the
// console output.
//
// It knows nothing about Slack beyond an actor name to put in CloudTrail, and
// it does not authorize users: callers decide who may see which account
// (Account.VisibleTo) and who may act.
package ec2ops

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go/middleware"
)

// Options tune a Fleet. Zero values take the defaults noted.
type Options struct {
	// Concurrency bounds how many account-regions List queries at once
	// (DefaultConcurrency); a listing uses as many as it has
	// account-regions, up to it.
	Concurrency int
	// PageSize is DescribeInstances' MaxResults, 5-1000 (1000).
	PageSize int32
	// RegionTimeout bounds the listing of one account-region, so one
	// unresponsive region becomes a Failure instead of stalling List (30s).
	RegionTimeout time.Duration
	// WaitTimeout bounds each wait for a target state (10m).
	WaitTimeout time.Duration
	// WaitPollInterval is the waiters' minimum delay between polls; the
	// maximum is three times it (5s).
	WaitPollInterval time.Duration
	// WaitPollSpacing is the least time between the DescribeInstances calls
	// that concurrent waits in one account and region share (a fifth of
	// WaitPollInterval: 1s).
	WaitPollSpacing time.Duration
	// WaitPollTimeout bounds one of those shared calls (30s); a poll that
	// runs out of it is polled again, within WaitTimeout.
	WaitPollTimeout time.Duration
	// Organization, when set, adds an AWS Organization's accounts to those
	// given to New (Discover, RunDiscovery).
	Organization *Organization
	// Now is the clock for elapsed times and cache bookkeeping (time.Now).
	Now func() time.Time
	// Observe, if set, is called after every AWS call with the operation
	// ("ec2:DescribeInstances", "sts:AssumeRole"), the outcome ("ok" or the
	// error kind, e.g. "access_denied") and the duration including retries.
	Observe func(op, outcome string, d time.Duration)
}

// DefaultConcurrency covers a hundred accounts in one region, or 20 in
// four, in one round of AWS latency; beyond it a listing takes rounds.
// Throttling is per account and region, so a wide fan-out across accounts
// does not spend any one account's rate.
const DefaultConcurrency = 128

func (o *Options) setDefaults() error {
	if o.Concurrency == 0 {
		o.Concurrency = DefaultConcurrency
	}
	if o.PageSize == 0 {
		o.PageSize = 1000
	}
	if o.RegionTimeout == 0 {
		o.RegionTimeout = 30 * time.Second
	}
	if o.WaitTimeout == 0 {
		o.WaitTimeout = 10 * time.Minute
	}
	if o.WaitPollInterval == 0 {
		o.WaitPollInterval = 5 * time.Second
	}
	if o.WaitPollSpacing == 0 {
		o.WaitPollSpacing = o.WaitPollInterval / 5
	}
	if o.WaitPollTimeout == 0 {
		o.WaitPollTimeout = 30 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	switch {
	case o.Concurrency < 1:
		return fmt.Errorf("concurrency %d is less than 1", o.Concurrency)
	case o.PageSize < 5 || o.PageSize > 1000:
		return fmt.Errorf("page size %d is outside 5-1000", o.PageSize)
	case o.RegionTimeout < 0 || o.WaitTimeout < 0 || o.WaitPollInterval < 0 || o.WaitPollSpacing < 0 || o.WaitPollTimeout < 0:
		return errors.New("negative timeout or interval")
	}
	return nil
}

// Fleet lists and acts on instances across the configured accounts. It is
// safe for concurrent use, also while its accounts are rediscovered.
type Fleet struct {
	opts Options
	// base carries the shared HTTP client and the ambient credentials, for
	// the clients of accounts that discovery adds later.
	base aws.Config
	// set is swapped whole when the accounts change: a listing or action
	// keeps the set it started with.
	set atomic.Pointer[accountSet]
	// explicit are the accounts given to New; org and orgClient are set when
	// an organization's accounts are discovered too.
	explicit  []Account
	org       *Organization
	orgClient *organizations.Client
	// discoverMu makes refreshes of the account set take turns.
	discoverMu sync.Mutex
}

// accountSet is the Fleet's accounts at one moment.
type accountSet struct {
	accounts []*account
	byName   map[string]*account // lower-cased name
}

// account is an Account with its clients and credentials.
type account struct {
	Account
	// ec2 holds one client per region; they all sign with the account's
	// shared read credentials, and mutations override those per call.
	ec2 map[string]*ec2.Client
	// cw holds the account's CloudWatch client per region, on the same
	// credentials as ec2.
	cw map[string]*cloudwatch.Client
	// polls share the DescribeInstances polls of the waits in each region.
	polls map[string]*statePolls
	// actors is nil for accounts using the ambient credentials: without a
	// role there is no session to name after the user.
	actors *actorSessions
	// read are the shared read credentials (the role's, or the ambient ones).
	read aws.CredentialsProvider
}

// New builds a Fleet. base supplies the ambient credentials (used directly
// for accounts without a role, and to call STS for those with one), the
// HTTP client, retryer and endpoint settings; config.LoadDefaultConfig is the
// usual source. Assumed-role credentials are cached per account and shared by
// its regions.
//
// With Options.Organization the accounts may be empty: Discover and
// RunDiscovery add the organization's.
func New(base aws.Config, accounts []Account, opts Options) (*Fleet, error) {
	if err := opts.setDefaults(); err != nil {
		return nil, fmt.Errorf("ec2ops.New: %w", err)
	}
	if len(accounts) == 0 && opts.Organization == nil {
		return nil, errors.New("ec2ops.New: no accounts")
	}
	if err := validateAccounts(accounts); err != nil {
		return nil, fmt.Errorf("ec2ops.New: %w", err)
	}
	if n := accountsWithoutRole(accounts); n > 1 {
		return nil, fmt.Errorf("ec2ops.New: %d accounts use the ambient credentials; only one can", n)
	}
	base = base.Copy()
	concurrent := opts.Concurrency // an organization's account-regions are not known yet
	if opts.Organization == nil {
		regions := 0
		for _, a := range accounts {
			regions += len(a.Regions)
		}
		concurrent = min(regions, opts.Concurrency)
	}
	// As many connections as a listing runs at once.
	base.HTTPClient = sharedHTTPClient(base.HTTPClient, concurrent)
	f := &Fleet{opts: opts, base: base, explicit: make([]Account, len(accounts))}
	for i, a := range accounts {
		f.explicit[i] = cloneAccount(a)
	}
	if o := opts.Organization; o != nil {
		f.org = o
		f.orgClient = f.organizationClient(base, o)
	}
	f.set.Store(f.newSet(f.explicit, nil))
	return f, nil
}

// newSet builds an account set, reusing the accounts of prev that did not
// change, so that their cached credentials and connections stay warm.
func (f *Fleet) newSet(accounts []Account, prev *accountSet) *accountSet {
	set := &accountSet{byName: make(map[string]*account, len(accounts))}
	for _, a := range accounts {
		acct, ok := (*account)(nil), false
		if prev != nil {
			acct, ok = prev.byName[strings.ToLower(a.Name)]
		}
		if !ok || !reflect.DeepEqual(acct.Account, a) {
			acct = f.newAccount(a)
		}
		set.accounts = append(set.accounts, acct)
		set.byName[strings.ToLower(a.Name)] = acct
	}
	return set
}

// newAccount builds one account's clients.
func (f *Fleet) newAccount(a Account) *account {
	base := f.base
	acct := &account{Account: cloneAccount(a), ec2: map[string]*ec2.Client{}, cw: map[string]*cloudwatch.Client{}, polls: map[string]*statePolls{}}
	creds := base.Credentials
	if a.RoleARN != "" {
		stsClient := sts.NewFromConfig(base, func(o *sts.Options) {
			if o.Region == "" {
				o.Region = a.Regions[0]
			}
			o.APIOptions = append(slices.Clip(o.APIOptions), f.observer("sts"))
		})
		noSI := new(atomic.Bool)
		provider := func(session, sourceIdentity string, d time.Duration) aws.CredentialsProvider {
			return newCredentialsCache(&assumeRoleProvider{
				client: stsClient, roleARN: a.RoleARN, externalID: a.ExternalID,
				sessionName: session, sourceIdentity: sourceIdentity, noSourceIdentity: noSI, duration: d,
			})
		}
		creds = provider(readSessionName, "", readSessionDuration)
		acct.actors = &actorSessions{
			now:      f.opts.Now,
			new:      func(session string) aws.CredentialsProvider { return provider(session, session, actorSessionDuration) },
			sessions: map[string]*actorSession{},
		}
	}
	acct.read = creds
	for _, r := range a.Regions {
		acct.ec2[r] = ec2.NewFromConfig(base, func(o *ec2.Options) {
			o.Region = r
			o.Credentials = creds
			o.APIOptions = append(slices.Clip(o.APIOptions), f.observer("ec2"))
		})
		acct.polls[r] = newStatePolls(acct.ec2[r], f.opts.WaitPollSpacing, f.opts.WaitPollTimeout)
		acct.cw[r] = cloudwatch.NewFromConfig(base, func(o *cloudwatch.Options) {
			o.Region = r
			o.Credentials = creds
			o.APIOptions = append(slices.Clip(o.APIOptions), f.observer("cloudwatch"))
		})
	}
	return acct
}

// Discover lists the organization's active accounts and makes them, with
// the accounts given to New (which win for their ids), the Fleet's
// accounts. Listings and actions already running keep the accounts they
// started with. When listing fails the accounts stay as they were.
func (f *Fleet) Discover(ctx context.Context) (Discovery, error) {
	const op = "ec2ops.Discover"
	if f.org == nil {
		return Discovery{}, &Error{Kind: KindInvalidRequest, Op: op, Err: errors.New("no organization is configured")}
	}
	f.discoverMu.Lock()
	defer f.discoverMu.Unlock()
	start := f.opts.Now()
	listed, err := f.listOrganization(ctx, f.orgClient, f.org)
	if err != nil {
		return Discovery{}, newAWSError(op, "", f.org.ManagementRoleARN, "", "", err)
	}
	discovered, overridden := discoveredAccounts(f.org, listed, f.explicit)
	accounts := slices.Concat(f.explicit, discovered)
	f.set.Store(f.newSet(accounts, f.set.Load()))
	return Discovery{Listed: len(listed), Discovered: len(discovered) + overridden, Overridden: overridden,
		Accounts: len(accounts), Took: f.opts.Now().Sub(start)}, nil
}

// RunDiscovery rediscovers the organization's accounts every
// Organization.Refresh until ctx ends, reporting each outcome to report
// (which may be nil). A failed refresh is retried sooner, backing off from
// Organization.Retry (a minute) up to the refresh interval. last is the
// outcome of the listing before (start-up's): a failed one is retried
// after Retry, not after a whole refresh interval with no accounts.
func (f *Fleet) RunDiscovery(ctx context.Context, last error, report func(Discovery, error)) {
	if f.org == nil {
		return
	}
	first := cmp.Or(f.org.Retry, discoveryRetry)
	wait, retry := f.org.Refresh, time.Duration(0)
	if last != nil {
		wait, retry = min(first, f.org.Refresh), first
	}
	for {
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		d, err := f.Discover(ctx)
		if ctx.Err() != nil {
			return
		}
		if report != nil {
			report(d, err)
		}
		wait = f.org.Refresh
		if err != nil {
			retry = min(max(2*retry, first), f.org.Refresh)
			wait = retry
		} else {
			retry = 0
		}
	}
}

// discoveryRetry is the first delay after a failed discovery.
const discoveryRetry = time.Minute

func accountsWithoutRole(accounts []Account) int {
	n := 0
	for _, a := range accounts {
		if a.RoleARN == "" {
			n++
		}
	}
	return n
}

func cloneAccount(a Account) Account {
	a.Regions = slices.Clone(a.Regions)
	a.Workspaces = slices.Clone(a.Workspaces)
	a.Notify = slices.Clone(a.Notify)
	if a.ManagedTag != nil {
		t := *a.ManagedTag
		a.ManagedTag = &t
	}
	return a
}

// sharedHTTPClient lets every account-region client share one connection
// pool sized for the fan-out; the SDK's default keeps only 10 idle
// connections per host, which would make every listing reconnect.
func sharedHTTPClient(c aws.HTTPClient, concurrent int) aws.HTTPClient {
	idle := max(concurrent, awshttp.DefaultHTTPTransportMaxIdleConnsPerHost)
	grow := func(t *http.Transport) {
		t.MaxIdleConnsPerHost = max(t.MaxIdleConnsPerHost, idle)
		t.MaxIdleConns = max(t.MaxIdleConns, 4*idle)
	}
	switch bc := c.(type) {
	case nil:
		return awshttp.NewBuildableClient().WithTransportOptions(grow)
	case *awshttp.BuildableClient:
		return bc.WithTransportOptions(grow)
	}
	return c
}

// observer reports each AWS call to Options.Observe. It sits at the start of
// the Initialize step so the duration includes the SDK's retries.
func (f *Fleet) observer(service string) func(*middleware.Stack) error {
	return func(stack *middleware.Stack) error {
		if f.opts.Observe == nil {
			return nil
		}
		op := service + ":" + stack.ID()
		return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("charlize.Observe",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				start := f.opts.Now()
				out, md, err := next.HandleInitialize(ctx, in)
				outcome := "ok"
				if err != nil {
					kind, _ := classify(err)
					outcome = strings.ReplaceAll(kind.String(), " ", "_")
				}
				f.opts.Observe(op, outcome, f.opts.Now().Sub(start))
				return out, md, err
			}), middleware.Before)
	}
}

// QueueConfig is the SDK configuration that reads an events queue: with
// the read credentials of the account named (its role), or with
// Charlize's own when account is "", in the queue URL's region (else the
// account's first region). Calls are observed as "sqs:<Operation>".
func (f *Fleet) QueueConfig(account, queueURL string) (aws.Config, error) {
	cfg := f.base.Copy()
	if account != "" {
		a, ok := f.set.Load().byName[strings.ToLower(account)]
		if !ok {
			return aws.Config{}, fmt.Errorf("ec2ops.QueueConfig: no account %q", account)
		}
		cfg.Credentials = a.read
		if cfg.Region == "" {
			cfg.Region = a.Regions[0]
		}
	}
	if r := QueueRegion(queueURL); r != "" {
		cfg.Region = r
	}
	if cfg.Region == "" {
		return aws.Config{}, fmt.Errorf("ec2ops.QueueConfig: no region for %s", queueURL)
	}
	cfg.APIOptions = append(slices.Clip(cfg.APIOptions), f.observer("sqs"))
	return cfg, nil
}

// Accounts returns the accounts at this moment: those given to New, then
// those discovered, in the order they were given or discovered.
func (f *Fleet) Accounts() []Account {
	set := f.set.Load()
	out := make([]Account, len(set.accounts))
	for i, a := range set.accounts {
		out[i] = cloneAccount(a.Account)
	}
	return out
}

// AllAccounts yields the accounts of this moment, in Accounts' order,
// without copying them: for the loops that only read (every /charlize
// looks its accounts over, and an organization has hundreds). Their
// slices are the fleet's own; whatever keeps or changes one takes
// Accounts instead.
func (f *Fleet) AllAccounts() iter.Seq[Account] {
	set := f.set.Load()
	return func(yield func(Account) bool) {
		for _, a := range set.accounts {
			if !yield(a.Account) {
				return
			}
		}
	}
}

// Failure is an account-region that could not be listed.
type Failure struct {
	Account, Region string
	Err             error // an *Error
}

// ListResult is what List found, and where it could not look.
type ListResult struct {
	Instances []Instance // ordered by account, region, name, id
	Failures  []Failure  // ordered by account, region
}

type listJob struct {
	acct   *account
	region string
}

// List finds the instances matching q in the selected accounts and regions,
// querying account-regions concurrently (at most Options.Concurrency at a
// time). An account-region that fails is reported in Failures and does not
// fail the listing. The error is non-nil only for an invalid query or when
// ctx ends.
func (f *Fleet) List(ctx context.Context, q Query) (ListResult, error) {
	const op = "ec2ops.List"
	q, jobs, err := f.plan(q)
	if err != nil {
		err.Op = op
		return ListResult{}, err
	}
	type jobResult struct {
		instances []Instance
		err       error
	}
	results := make([]jobResult, len(jobs))
	next := make(chan int, len(jobs))
	for i := range jobs {
		next <- i
	}
	close(next)
	var wg sync.WaitGroup
	for range min(f.opts.Concurrency, len(jobs)) {
		wg.Go(func() {
			for i := range next {
				if ctx.Err() != nil {
					return
				}
				results[i].instances, results[i].err = f.listRegion(ctx, jobs[i].acct, jobs[i].region, q)
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		kind, _ := classify(err)
		return ListResult{}, &Error{Kind: kind, Op: op, Err: err}
	}

	var res ListResult
	for i, r := range results {
		res.Instances = append(res.Instances, r.instances...)
		if r.err != nil {
			res.Failures = append(res.Failures, Failure{Account: jobs[i].acct.Name, Region: jobs[i].region, Err: r.err})
		}
	}
	slices.SortFunc(res.Instances, func(a, b Instance) int {
		return cmpStrings(a.Account, b.Account, a.Region, b.Region, a.Name, b.Name, a.ID, b.ID)
	})
	slices.SortFunc(res.Failures, func(a, b Failure) int {
		return cmpStrings(a.Account, b.Account, a.Region, b.Region)
	})
	return res, nil
}

// cmpStrings compares pairs (a1, b1, a2, b2, …) lexicographically.
func cmpStrings(pairs ...string) int {
	for i := 0; i+1 < len(pairs); i += 2 {
		if c := strings.Compare(pairs[i], pairs[i+1]); c != 0 {
			return c
		}
	}
	return 0
}

// plan resolves the query's words against the configured accounts and picks
// the account-regions to query.
func (f *Fleet) plan(q Query) (Query, []listJob, *Error) {
	set := f.set.Load()
	q.Accounts = slices.Clone(q.Accounts)
	q.Names = slices.Clone(q.Names)
	for _, w := range q.Words {
		if _, ok := set.byName[strings.ToLower(w)]; ok {
			q.Accounts = append(q.Accounts, w)
		} else {
			q.Names = append(q.Names, w) // no wildcards in a word, so an exact match
		}
	}
	q.Words = nil

	selected := set.accounts
	if len(q.Accounts) > 0 {
		selected = nil
		seen := make(map[*account]bool, len(q.Accounts))
		for _, name := range q.Accounts {
			a, ok := set.byName[strings.ToLower(name)]
			if !ok {
				return q, nil, &Error{Kind: KindInvalidQuery, Term: "account:" + name,
					Err: fmt.Errorf("there is no account named %q", name)}
			}
			if !seen[a] {
				seen[a] = true
				selected = append(selected, a)
			}
		}
	}
	for _, r := range q.Regions {
		if !slices.ContainsFunc(selected, func(a *account) bool { return slices.Contains(a.Regions, r) }) {
			return q, nil, &Error{Kind: KindInvalidQuery, Term: "region:" + r,
				Err: fmt.Errorf("no selected account is configured for region %s", r)}
		}
	}
	// Jobs interleave accounts (each account's first region, then each
	// one's second, …). With fewer workers than jobs, the first round then
	// starts every account's AssumeRole at once and later rounds find the
	// credentials cached, instead of several workers idling on one
	// account's AssumeRole. Regions of an account that do run together
	// still share a single AssumeRole through the credentials cache.
	var perAccount [][]listJob
	for _, a := range selected {
		var js []listJob
		for _, r := range a.Regions {
			if len(q.Regions) == 0 || slices.Contains(q.Regions, r) {
				js = append(js, listJob{acct: a, region: r})
			}
		}
		perAccount = append(perAccount, js)
	}
	var jobs []listJob
	for i := 0; ; i++ {
		n := len(jobs)
		for _, js := range perAccount {
			if i < len(js) {
				jobs = append(jobs, js[i])
			}
		}
		if len(jobs) == n {
			return q, jobs, nil
		}
	}
}

// listRegion pages through DescribeInstances in one account-region. The
// filters narrow the result server-side; q.match and the managed-tag check
// then decide, so correctness never depends on the server applying a filter.
func (f *Fleet) listRegion(ctx context.Context, a *account, region string, q Query) ([]Instance, error) {
	ctx, cancel := context.WithTimeout(ctx, f.opts.RegionTimeout)
	defer cancel()
	p := ec2.NewDescribeInstancesPaginator(a.ec2[region], &ec2.DescribeInstancesInput{
		Filters:    filters(a.ManagedTag, q),
		MaxResults: aws.Int32(f.opts.PageSize),
	})
	var found []Instance
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return found, f.awsErr("ec2ops.List", a, region, "", err)
		}
		for _, r := range page.Reservations {
			for _, in := range r.Instances {
				inst := fromEC2(a.Name, region, in)
				if inScope(a.ManagedTag, inst) && q.match(inst) {
					found = append(found, inst)
				}
			}
		}
	}
	return found, nil
}

// filters translates the query into DescribeInstances filters. A filter name
// is used once; a second term on the same name (a tag:Name term beside name
// patterns, or a tag on the managed key) is left to client-side matching.
func filters(scope *Tag, q Query) []types.Filter {
	var out []types.Filter
	add := func(name string, values []string, escape bool) {
		if len(values) == 0 || slices.ContainsFunc(out, func(f types.Filter) bool { return aws.ToString(f.Name) == name }) {
			return
		}
		vals := slices.Clone(values)
		if escape {
			for i, v := range vals {
				vals[i] = ec2Escape(v)
			}
		}
		out = append(out, types.Filter{Name: aws.String(name), Values: vals})
	}
	if scope != nil {
		// The managed value is literal; escape the wildcards EC2 would expand.
		add("tag:"+scope.Key, []string{literalEscaper.Replace(scope.Value)}, false)
	}
	add("instance-id", q.IDs, false)
	add("instance-state-name", q.States, false)
	add("instance-type", q.Types, true)
	add("tag:Name", q.Names, true)
	var keys []string
	for _, t := range q.Tags {
		if !slices.Contains(keys, t.Key) {
			keys = append(keys, t.Key)
		}
	}
	for _, k := range keys {
		var vals []string
		for _, t := range q.Tags {
			if t.Key == k {
				vals = append(vals, t.Value)
			}
		}
		add("tag:"+k, vals, true)
	}
	return out
}

var literalEscaper = strings.NewReplacer(`\`, `\\`, `*`, `\*`, `?`, `\?`)

// awsErr wraps an error from an AWS call made for account a.
func (f *Fleet) awsErr(op string, a *account, region, id string, err error) *Error {
	return newAWSError(op, a.Name, a.RoleARN, region, id, err)
}
