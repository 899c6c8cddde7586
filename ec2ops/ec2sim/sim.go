// Package ec2sim simulates the parts of Amazon EC2 and AWS STS that Charlize
// uses, as an http.Handler that the real aws-sdk-go-v2 clients talk to
// through an endpoint override (aws.Config.BaseEndpoint or
// AWS_ENDPOINT_URL; one URL serves both services).
//
// It speaks the EC2 Query protocol (DescribeInstances, Start/Stop/Reboot/
// TerminateInstances, Describe/ModifyInstanceAttribute for
// disableApiTermination, disableApiStop and instanceType, GetConsoleOutput,
// Create/DeleteTags on instances, DescribeRegions), the STS Query protocol
// (AssumeRole, GetCallerIdentity), CloudWatch's RPC v2 CBOR protocol
// (GetMetricData for the AWS/EC2 metrics of its instances), SQS's AWS JSON
// 1.0 (ReceiveMessage, DeleteMessage, ChangeMessageVisibility; tests fill
// queues with CreateQueue and SendMessage) and AWS JSON 1.1 for
// Organizations (ListAccounts, ListRoots, ListOrganizationalUnitsForParent,
// ListAccountsForParent, paginated as AWS does). Deny makes IAM refuse an
// action, DryRun too. Requests are routed by the SigV4
// credential scope in the Authorization header; signatures are not verified.
// Keys issued by AssumeRole map to the role's account; any other key belongs
// to Options.DefaultAccount. Instance state transitions are computed lazily
// from the injected clock, so tests advance time instead of sleeping.
//
// Faults make every failure Charlize explains to users happen for real:
// AWS error answers (throttling, access denied on AssumeRole or on an
// action, expired tokens), answers held past the client's timeout, and
// connections closed unanswered. Invalid ids, wrong states and termination
// protection need no fault. An endpoint that refuses connections is a
// closed loopback port, which needs no simulator at all.
//
// It does not launch instances, model VPCs, security groups, volumes or IAM
// policies, or check request signatures. It is a test and demo fake, not a
// general AWS emulator.
package ec2sim

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/smithy-go/encoding/cbor"
)

// Defaults applied by New when the corresponding Options field is zero.
const (
	DefaultTransitionTime = 2 * time.Second
	DefaultAccountID      = "000000000000"
	DefaultCredentialTTL  = time.Hour
	DefaultInstanceType   = "t3.micro"
)

// Options configures a Sim. The zero value is usable.
type Options struct {
	// Now is the simulator's clock; default time.Now. Tests inject a fake
	// clock and advance it to drive state transitions. AssumeRole
	// expirations come from this clock too, and the SDK's credential cache
	// compares them with the real clock: start a fake clock near
	// time.Now(), or every request will assume the role again.
	Now func() time.Time
	// TransitionTime is how long pending, stopping and shutting-down last;
	// default 2s. A negative value makes transitions complete immediately.
	TransitionTime time.Duration
	// Latency is added to every request.
	Latency time.Duration
	// DefaultAccount is the account of any credentials the simulator did
	// not issue (ambient or static keys); default "000000000000".
	DefaultAccount string
	// CredentialTTL is the lifetime of AssumeRole credentials. When zero the
	// request's DurationSeconds is honoured, or 1h when that is absent too.
	CredentialTTL time.Duration
	// EnforceCredentialExpiry makes requests signed with expired
	// AssumeRole credentials fail with ExpiredToken. It is off by default
	// because the SDK's credential cache expires keys by the real clock,
	// while tests usually advance only the simulator's clock.
	EnforceCredentialExpiry bool
}

// Fault is an injected error. Empty Account, Region and Action match any
// request. For AssumeRole, Account is the account in the requested RoleArn.
type Fault struct {
	Account, Region, Action string
	// Code is the AWS error code, e.g. RequestLimitExceeded, Throttling,
	// UnauthorizedOperation, AccessDenied, InternalError.
	Code string
	// Status is the HTTP status; when zero it is derived from Code.
	Status int
	// Message defaults to a generic message for Code.
	Message string
	// Times is how many requests the fault hits; 0 means every matching
	// request until it is removed.
	Times int
	// Delay holds a matching request this long (or until the client gives
	// up) before it is answered: with the fault's Code when it has one,
	// else as usual. An endpoint slower than the client's timeout looks
	// unreachable to it.
	Delay time.Duration
	// Drop closes the connection without any answer, as a proxy or load
	// balancer that cuts requests off does; Code and Status are ignored.
	Drop bool
}

// Call is one request that reached the simulator, as recorded in CallLog.
type Call struct {
	Action, Account, Region string
	AccessKeyID             string
	// SessionName is the RoleSessionName of the assumed-role credentials
	// used or, for AssumeRole, the one requested.
	SessionName    string
	SourceIdentity string
	// RoleARN and ExternalID are set for AssumeRole only.
	RoleARN, ExternalID string
	InstanceIDs         []string
	// DryRun marks an EC2 request with DryRun=true: it asked whether the
	// call would be allowed and changed nothing.
	DryRun bool
	// Filters are the DescribeInstances filters sent, as "name=value,…".
	Filters []string
	Time    time.Time
}

// Sim is an EC2, STS and SQS simulator. It implements http.Handler and is safe
// for concurrent use.
type Sim struct {
	now            func() time.Time
	transition     time.Duration
	defaultAccount string
	credentialTTL  time.Duration
	enforceExpiry  bool

	mu       sync.Mutex
	latency  time.Duration
	accounts map[string]*account // by account id
	sessions map[string]session  // by issued access key id
	faults   []*faultEntry
	org      *organization // nil: no caller belongs to an organization
	calls    []Call
	counts   map[string]int
	seq      uint64            // for generated ids
	queues   map[string]*queue // SQS queues by URL (sqs.go)
	arrived  chan struct{}     // closed when a queued message may be receivable
}

type faultEntry struct {
	Fault
	remaining int // for Times > 0
}

// account is one AWS account: its AssumeRole policy and its fleets.
type account struct {
	id                 string
	externalID         string
	denySourceIdentity bool
	regions            map[string]map[string]*record // region → instance id → record
	denied             map[string]int                // action → active Deny calls
}

// session is what the simulator remembers about credentials it issued.
type session struct {
	account        string
	roleARN        string
	sessionName    string
	sourceIdentity string
	expires        time.Time
}

// New returns a simulator with no instances and only the default account.
func New(opts Options) *Sim {
	s := &Sim{
		now:            opts.Now,
		transition:     opts.TransitionTime,
		defaultAccount: opts.DefaultAccount,
		credentialTTL:  opts.CredentialTTL,
		enforceExpiry:  opts.EnforceCredentialExpiry,
		latency:        opts.Latency,
		accounts:       map[string]*account{},
		sessions:       map[string]session{},
		counts:         map[string]int{},
	}
	if s.now == nil {
		s.now = time.Now
	}
	switch {
	case s.transition == 0:
		s.transition = DefaultTransitionTime
	case s.transition < 0:
		s.transition = 0
	}
	if s.defaultAccount == "" {
		s.defaultAccount = DefaultAccountID
	}
	s.accountLocked(s.defaultAccount)
	return s
}

// SetLatency changes the latency added to every subsequent request.
func (s *Sim) SetLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency = d
}

// AddFault injects f and returns a function that removes it. Faults are
// tried in the order they were added; the first match answers the request.
func (s *Sim) AddFault(f Fault) (remove func()) {
	e := &faultEntry{Fault: f, remaining: f.Times}
	s.mu.Lock()
	s.faults = append(s.faults, e)
	s.mu.Unlock()
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.faults = slices.DeleteFunc(s.faults, func(x *faultEntry) bool { return x == e })
	}
}

// Calls reports how many requests of action reached the simulator since
// the last Reset, including those answered by a fault, and not counting
// dry runs (DryRuns counts those): "StopInstances = 0" means nothing asked
// to stop.
func (s *Sim) Calls(action string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[action]
}

// DryRuns reports how many DryRun requests of action reached the
// simulator since the last Reset.
func (s *Sim) DryRuns(action string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts["dry-run:"+action]
}

// CallLog returns a copy of the requests recorded since the last Reset, in
// arrival order.
func (s *Sim) CallLog() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Call, len(s.calls))
	for i, c := range s.calls {
		c.InstanceIDs = slices.Clone(c.InstanceIDs)
		c.Filters = slices.Clone(c.Filters)
		out[i] = c
	}
	return out
}

// Reset clears the call log and counts. Fleets, issued credentials and
// faults are kept.
func (s *Sim) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = nil
	s.counts = map[string]int{}
}

// accountLocked returns the account with id, creating it if needed.
func (s *Sim) accountLocked(id string) *account {
	a, ok := s.accounts[id]
	if !ok {
		a = &account{id: id, regions: map[string]map[string]*record{}}
		s.accounts[id] = a
	}
	return a
}

// apiError is an AWS-shaped error answer.
type apiError struct {
	Status  int
	Code    string
	Message string
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

func errorf(status int, code, format string, args ...any) *apiError {
	return &apiError{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// request is a decoded incoming request.
type request struct {
	service string // "ec2", "sts", "monitoring" (CloudWatch) or "sqs"
	region  string
	akid    string
	action  string
	form    map[string][]string
	body    cbor.Map       // a CloudWatch (RPC v2 CBOR) request's body
	json    []byte         // the JSON body of an SQS request
	input   map[string]any // an Organizations (AWS JSON 1.1) request's input
	id      string         // request id
	now     time.Time
}

func (r *request) get(key string) string {
	if v := r.form[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// list returns the values of a query list: prefix.1, prefix.2, …
func (r *request) list(prefix string) []string {
	var out []string
	for i := 1; ; i++ {
		v, ok := r.form[fmt.Sprintf("%s.%d", prefix, i)]
		if !ok || len(v) == 0 {
			return out
		}
		out = append(out, v[0])
	}
}

// credentialRE extracts access key, region and service from a SigV4
// Authorization header.
var credentialRE = regexp.MustCompile(`Credential=([^/,\s]+)/\d{8}/([^/,\s]+)/([^/,\s]+)/aws4_request`)

// ServeHTTP answers one EC2 or STS Query API request.
func (s *Sim) ServeHTTP(w http.ResponseWriter, hr *http.Request) {
	req := &request{id: newRequestID()}
	m := credentialRE.FindStringSubmatch(hr.Header.Get("Authorization"))
	if m == nil {
		// Without a credential scope we cannot tell the protocol; EC2's
		// error shape is the more common consumer.
		writeEC2Error(w, req.id, errorf(http.StatusUnauthorized, "MissingAuthenticationToken",
			"Request is missing Authentication Token"))
		return
	}
	req.akid, req.region, req.service = m[1], m[2], m[3]
	switch req.service {
	case cloudWatchService:
		if err := decodeCBORRequest(hr, req); err != nil {
			s.writeError(w, req, err)
			return
		}
	case "sqs":
		if err := readSQSRequest(hr, req); err != nil {
			s.writeError(w, req, err)
			return
		}
	case organizationsService:
		if err := decodeJSONRequest(hr, req); err != nil {
			s.writeError(w, req, err)
			return
		}
	default:
		if err := hr.ParseForm(); err != nil {
			s.writeError(w, req, errorf(http.StatusBadRequest, "MalformedQueryString", "%v", err))
			return
		}
		req.form = hr.Form
		req.action = req.get("Action")
	}

	call := s.begin(req)
	if err := sleepCtx(hr.Context(), s.currentLatency()); err != nil {
		return // client gone
	}
	if f := s.fault(call); f != nil {
		if err := sleepCtx(hr.Context(), f.delay); err != nil {
			return // client gone
		}
		switch {
		case f.drop:
			dropConnection(w)
			return
		case f.apiError != nil:
			s.writeError(w, req, f.apiError)
			return
		}
	}

	var (
		body any
		err  *apiError
	)
	switch req.service {
	case "ec2":
		body, err = s.serveEC2(req, call)
	case "sts":
		body, err = s.serveSTS(req, call)
	case cloudWatchService:
		var v cbor.Value
		if v, err = s.serveCloudWatch(req, call); err == nil {
			writeCBOR(w, req.id, http.StatusOK, v)
			return
		}
	case "sqs":
		body, err = s.serveSQS(hr.Context(), req, call)
	case organizationsService:
		if body, err = s.serveOrganizations(req, call); err == nil {
			writeJSON(w, req.id, http.StatusOK, body)
			return
		}
	default:
		err = errorf(http.StatusBadRequest, "InvalidAction", "The service %s is not simulated.", req.service)
	}
	if err != nil {
		s.writeError(w, req, err)
		return
	}
	if req.service == "sqs" {
		writeSQS(w, req.id, http.StatusOK, body)
		return
	}
	writeXML(w, req.id, http.StatusOK, body)
}

// begin resolves the caller, records the call and returns it.
func (s *Sim) begin(req *request) Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	req.now = s.now()
	c := Call{
		Action:      req.action,
		Region:      req.region,
		AccessKeyID: req.akid,
		Time:        req.now,
	}
	if sess, ok := s.sessions[req.akid]; ok {
		c.Account, c.SessionName, c.SourceIdentity = sess.account, sess.sessionName, sess.sourceIdentity
	} else {
		c.Account = s.defaultAccount
	}
	switch {
	case req.service == "sts" && req.action == "AssumeRole":
		c.RoleARN = req.get("RoleArn")
		c.ExternalID = req.get("ExternalId")
		c.SessionName = req.get("RoleSessionName")
		if si := req.get("SourceIdentity"); si != "" {
			c.SourceIdentity = si
		}
		c.Account = "" // unknown until the ARN parses
		if acct, _, ok := parseRoleARN(c.RoleARN); ok {
			c.Account = acct
		}
	case req.service == cloudWatchService:
		c.InstanceIDs = metricInstanceIDs(req.body)
	case req.service == "ec2":
		c.InstanceIDs = req.list("InstanceId")
		if len(c.InstanceIDs) == 0 {
			c.InstanceIDs = req.list("ResourceId") // tag calls
		}
		for i := 1; req.get(fmt.Sprintf("Filter.%d.Name", i)) != ""; i++ {
			c.Filters = append(c.Filters, req.get(fmt.Sprintf("Filter.%d.Name", i))+"="+strings.Join(req.list(fmt.Sprintf("Filter.%d.Value", i)), ","))
		}
		if len(c.InstanceIDs) == 0 && req.get("InstanceId") != "" {
			c.InstanceIDs = []string{req.get("InstanceId")} // attribute calls
		}
		c.DryRun = req.get("DryRun") == "true"
	}
	s.calls = append(s.calls, c)
	if c.DryRun {
		s.counts["dry-run:"+c.Action]++
	} else {
		s.counts[c.Action]++
	}
	return c
}

func (s *Sim) currentLatency() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.latency
}

// injected is what a matching fault does to a request: hold it, then
// drop it, answer apiError, or (neither) serve it as usual.
type injected struct {
	delay    time.Duration
	drop     bool
	apiError *apiError
}

// fault returns the injected fault for c, if any, consuming one use of it.
func (s *Sim) fault(c Call) *injected {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, f := range s.faults {
		if (f.Account != "" && f.Account != c.Account) ||
			(f.Region != "" && f.Region != c.Region) ||
			(f.Action != "" && f.Action != c.Action) {
			continue
		}
		if f.Times > 0 {
			f.remaining--
			if f.remaining <= 0 {
				s.faults = slices.Delete(s.faults, i, i+1)
			}
		}
		in := &injected{delay: f.Delay, drop: f.Drop}
		if f.Drop || f.Delay > 0 && f.Code == "" {
			return in
		}
		e := &apiError{Status: f.Status, Code: f.Code, Message: f.Message}
		if e.Code == "" {
			e.Code = "InternalError"
		}
		if e.Status == 0 {
			e.Status = statusForCode(e.Code)
		}
		if e.Message == "" {
			e.Message = messageForCode(e.Code)
		}
		in.apiError = e
		return in
	}
	return nil
}

// dropConnection closes the request's connection without a response.
func dropConnection(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		// Not hijackable (HTTP/2): abort the handler, which resets the stream.
		panic(http.ErrAbortHandler)
	}
	_ = conn.Close()
}

// statusForCode is the HTTP status AWS uses for common error codes.
func statusForCode(code string) int {
	switch code {
	case "AccessDenied", "UnauthorizedOperation", "AccessDeniedException":
		return http.StatusForbidden
	case "AuthFailure", "MissingAuthenticationToken":
		return http.StatusUnauthorized
	case "InternalError", "InternalFailure":
		return http.StatusInternalServerError
	case "RequestLimitExceeded", "ServiceUnavailable", "Unavailable":
		return http.StatusServiceUnavailable
	default:
		return http.StatusBadRequest
	}
}

func messageForCode(code string) string {
	switch code {
	case "RequestLimitExceeded":
		return "Request limit exceeded."
	case "Throttling":
		return "Rate exceeded"
	case "UnauthorizedOperation":
		return "You are not authorized to perform this operation."
	case "AccessDenied":
		return "User is not authorized to perform this operation."
	case "InternalError", "InternalFailure":
		return "An internal error has occurred."
	case "ServiceUnavailable", "Unavailable":
		return "The service is unavailable. Please try again shortly."
	default:
		return "Injected fault " + code + "."
	}
}

func (s *Sim) writeError(w http.ResponseWriter, req *request, e *apiError) {
	if req.service == cloudWatchService {
		writeCBORError(w, req.id, e)
		return
	}
	if req.service == "sqs" {
		writeSQSError(w, req.id, e)
		return
	}
	if req.service == organizationsService {
		writeJSONError(w, req.id, e)
		return
	}
	if req.service == "sts" {
		writeSTSError(w, req.id, e)
		return
	}
	writeEC2Error(w, req.id, e)
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// newRequestID returns a random UUID-shaped request id.
func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return strings.Join([]string{h[0:8], h[8:12], h[12:16], h[16:20], h[20:32]}, "-")
}
