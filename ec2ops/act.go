package ec2ops

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"

	"github.com/charlize-app/charlize/ec2ops/action"
)

// ActionRequest asks for an action on one instance.
type ActionRequest struct {
	Action     action.Action
	Account    string // account name
	Region     string
	InstanceID string
	// Actor names the Slack user; mutating calls run under an AssumeRole
	// session named after it so CloudTrail shows who clicked.
	Actor string
	// Session, when set, is the AssumeRole session name (and source
	// identity) of the mutating calls instead of one made from Actor: the
	// scheduler's "charlize-schedule-<name>". It must be a valid
	// RoleSessionName (2-64 of [\w+=,.@-]).
	Session string
	// Authorize, when set, is called by Do with the instance as AWS has
	// just described it, after the state and protection checks and before
	// any mutating call; an error it returns refuses the action unchanged.
	// It lets a caller decide on fresh tags without describing twice.
	Authorize func(Detail) error
	// Sending, when set, is called right before each mutating call with
	// the call about to be sent (a restart sends stop, then start), so a
	// caller can record how far the action got.
	Sending func(action.Action)
	// Resume says an earlier Do of this request may have sent some of its
	// calls before it was cut off (its process died): a fresh describe
	// decides what is left, so nothing is sent twice. ResumeAt is the call
	// Sending last announced ("" = none was announced).
	Resume   bool
	ResumeAt action.Action
}

var roleSessionRE = regexp.MustCompile(`^[\w+=,.@-]{2,64}$`)

// session is the AssumeRole session the request's calls run under: the one
// it names, else one named after its actor.
func (req ActionRequest) session() string {
	if req.Session != "" {
		return req.Session
	}
	return sessionName(req.Actor)
}

// Progress reports the instance's state while Do waits for the target state.
type Progress struct {
	State   string
	Elapsed time.Duration // since Do started
}

// Result is the instance after a successful action.
type Result struct {
	Instance Instance
	Elapsed  time.Duration
}

// Describe returns one instance with its termination and stop protection.
// An instance outside the account's managed-tag scope is reported as not
// found.
func (f *Fleet) Describe(ctx context.Context, account, region, id string) (Detail, error) {
	const op = "ec2ops.Describe"
	a, err := f.target(op, account, region, id)
	if err != nil {
		return Detail{}, err
	}
	return f.describe(ctx, op, a, region, id, protections...)
}

// Check runs every refusal Do would (unknown instance, state, termination
// and stop protection) without acting, so the UI can explain a refusal before asking
// for confirmation.
func (f *Fleet) Check(ctx context.Context, req ActionRequest) (Detail, error) {
	_, d, err := f.check(ctx, "ec2ops.Check "+string(req.Action), req)
	return d, err
}

// Do performs the action and, for start, stop, restart and terminate, waits
// (at most Options.WaitTimeout per wait) for the target state, calling
// progress, if non-nil, on Do's goroutine after each poll. Mutating calls use
// an AssumeRole session named after req.Actor; reads and waits use the
// account's shared credentials. Status performs no mutation.
func (f *Fleet) Do(ctx context.Context, req ActionRequest, progress func(Progress)) (Result, error) {
	op := "ec2ops.Do " + string(req.Action)
	start := f.opts.Now()
	if req.Action.Mutates() && strings.TrimSpace(req.Actor) == "" {
		return Result{}, &Error{Kind: KindInvalidRequest, Op: op, Account: req.Account, Region: req.Region, InstanceID: req.InstanceID,
			Action: req.Action, Err: errors.New("an action needs the acting user, for the audit trail")}
	}
	if req.Session != "" && !roleSessionRE.MatchString(req.Session) {
		return Result{}, &Error{Kind: KindInvalidRequest, Op: op, Account: req.Account, Region: req.Region, InstanceID: req.InstanceID,
			Action: req.Action, Err: fmt.Errorf("%q is not a role session name", req.Session)}
	}
	var (
		a     *account
		d     Detail
		steps []step
		err   error
	)
	if req.Resume {
		a, d, steps, err = f.resumeSteps(ctx, op, req)
	} else {
		a, d, err = f.check(ctx, op, req)
		steps = plan(req.Action)
	}
	if err != nil {
		return Result{}, err
	}
	if req.Authorize != nil {
		if err := req.Authorize(d); err != nil {
			return Result{}, err
		}
	}
	x := &execution{
		f: f, a: a, op: op, req: req, inst: d.Instance, start: start,
		progress: progress,
	}
	for _, st := range steps {
		if st.send {
			if req.Sending != nil {
				req.Sending(st.call)
			}
			if err := x.mutate(ctx, st.call); err != nil {
				return Result{}, err
			}
		}
		if st.want != "" {
			if err := x.wait(ctx, st.want); err != nil {
				return Result{}, err
			}
		}
	}
	return Result{Instance: x.inst, Elapsed: f.opts.Now().Sub(start)}, nil
}

// step is one call of an action and the state it then waits for.
type step struct {
	call action.Action
	send bool   // false: the call was already sent, only wait
	want string // "" = no wait
}

// plan is the calls of an action from its start.
func plan(a action.Action) []step {
	switch a {
	case action.Start:
		return []step{{action.Start, true, StateRunning}}
	case action.Stop:
		return []step{{action.Stop, true, StateStopped}}
	case action.Terminate:
		return []step{{action.Terminate, true, StateTerminated}}
	case action.Reboot:
		return []step{{action.Reboot, true, ""}}
	case action.Restart:
		return []step{{action.Stop, true, StateStopped}, {action.Start, true, StateRunning}}
	}
	return nil
}

// resumeSteps decides, on a fresh describe, what is left of an action
// whose calls may have been sent: a call whose effect shows (the instance
// is on its way to, or at, the state it leads to) is not sent again. A
// reboot leaves no trace in the state, so an announced reboot counts as
// sent. States that fit neither refuse as usual.
func (f *Fleet) resumeSteps(ctx context.Context, op string, req ActionRequest) (*account, Detail, []step, error) {
	a, terr := f.target(op, req.Account, req.Region, req.InstanceID)
	if terr != nil {
		terr.Action = req.Action
		return nil, Detail{}, nil, terr
	}
	d, err := f.describe(ctx, op, a, req.Region, req.InstanceID, protectionsFor(req.Action)...)
	if err != nil {
		return nil, Detail{}, nil, err
	}
	sent := func(call action.Action) bool {
		switch call {
		case action.Start:
			return d.State == StatePending || d.State == StateRunning
		case action.Stop:
			return d.State == StateStopping || d.State == StateStopped
		case action.Terminate:
			return d.State == StateShuttingDown || d.State == StateTerminated
		case action.Reboot:
			return req.ResumeAt == action.Reboot
		}
		return false
	}
	steps := plan(req.Action)
	if req.Action == action.Restart && req.ResumeAt == action.Start {
		steps = steps[1:] // the stop is done
	}
	for i := range steps {
		if sent(steps[i].call) {
			steps[i].send = false
			continue
		}
		if i > 0 {
			break // it follows the waits before it
		}
		// The first call, not yet sent, is checked as a fresh action is.
		if why := refusal(steps[i].call, d.State); why != "" {
			return nil, d, nil, &Error{Kind: KindInvalidState, Op: op, Account: a.Name, Region: req.Region, InstanceID: d.ID,
				Name: d.Name, Action: req.Action, State: d.State, Err: errors.New(why)}
		}
		if steps[i].call == action.Terminate && d.TerminationProtected {
			return nil, d, nil, &Error{Kind: KindProtected, Op: op, Account: a.Name, Region: req.Region, InstanceID: d.ID,
				Name: d.Name, Action: req.Action, Err: errors.New("disableApiTermination is set")}
		}
		if err := d.Allows(steps[i].call); err != nil {
			e := err.(*Error)
			e.Op = op
			return nil, d, nil, e
		}
		break
	}
	return a, d, steps, nil
}

// target resolves and checks the account, region and instance id of a request.
func (f *Fleet) target(op, account, region, id string) (*account, *Error) {
	bad := func(format string, args ...any) *Error {
		return &Error{Kind: KindInvalidRequest, Op: op, Account: account, Region: region, InstanceID: id,
			Err: fmt.Errorf(format, args...)}
	}
	a, ok := f.set.Load().byName[strings.ToLower(account)]
	switch {
	case !ok:
		return nil, bad("there is no account named %q", account)
	case a.ec2[region] == nil:
		return nil, bad("account %s is not configured for region %q", a.Name, region)
	case !instanceIDRE.MatchString(id):
		return nil, bad("%q is not an instance id (i-…)", id)
	}
	return a, nil
}

// scoped resolves the account of an instance that List or Describe
// returned, refusing one outside the account's managed-tag scope as not
// found, for reads that take the instance rather than describing it again.
func (f *Fleet) scoped(op string, inst Instance) (*account, *Error) {
	a, err := f.target(op, inst.Account, inst.Region, inst.ID)
	if err != nil {
		return nil, err
	}
	if !inScope(a.ManagedTag, inst) {
		return nil, &Error{Kind: KindNotFound, Op: op, Account: a.Name, Region: inst.Region, InstanceID: inst.ID,
			Err: errors.New("no such instance in scope")}
	}
	return a, nil
}

func (f *Fleet) describe(ctx context.Context, op string, a *account, region, id string, attrs ...types.InstanceAttributeName) (Detail, error) {
	client := a.ec2[region]
	// The attributes come one per call: ask for them at once, and at the
	// same time as the instance, so a card costs one round trip to AWS.
	// What they say is only used once the instance is known to be in scope.
	type attrResult struct {
		out *ec2.DescribeInstanceAttributeOutput
		err error
	}
	results := make([]attrResult, len(attrs))
	var wg sync.WaitGroup
	for i, attr := range attrs {
		wg.Go(func() {
			results[i].out, results[i].err = client.DescribeInstanceAttribute(ctx, &ec2.DescribeInstanceAttributeInput{
				InstanceId: aws.String(id), Attribute: attr,
			})
		})
	}
	out, err := client.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{id}})
	wg.Wait()
	if err != nil {
		return Detail{}, f.awsErr(op, a, region, id, err)
	}
	var d Detail
	found := false
	for _, r := range out.Reservations {
		for _, in := range r.Instances {
			if aws.ToString(in.InstanceId) == id {
				d.Instance, found = fromEC2(a.Name, region, in), true
			}
		}
	}
	if !found || !inScope(a.ManagedTag, d.Instance) {
		return Detail{}, &Error{Kind: KindNotFound, Op: op, Account: a.Name, Region: region, InstanceID: id,
			Err: errors.New("no such instance in scope")}
	}
	for _, r := range results {
		if r.err != nil {
			e := f.awsErr(op, a, region, id, r.err)
			e.Name = d.Name
			return Detail{}, e
		}
		if v := r.out.DisableApiTermination; v != nil {
			d.TerminationProtected = aws.ToBool(v.Value)
		}
		if v := r.out.DisableApiStop; v != nil {
			d.StopProtected = aws.ToBool(v.Value)
		}
	}
	return d, nil
}

// protections are the attributes Describe reads.
var protections = []types.InstanceAttributeName{
	types.InstanceAttributeNameDisableApiTermination, types.InstanceAttributeNameDisableApiStop,
}

// protectionsFor are the attributes that can refuse action a.
func protectionsFor(a action.Action) []types.InstanceAttributeName {
	switch {
	case a == action.Terminate:
		return protections[:1]
	case stopsInstance(a):
		return protections[1:]
	}
	return nil
}

func (f *Fleet) check(ctx context.Context, op string, req ActionRequest) (*account, Detail, error) {
	if !req.Action.OnInstance() {
		return nil, Detail{}, &Error{Kind: KindInvalidRequest, Op: op, Account: req.Account, Region: req.Region, InstanceID: req.InstanceID,
			Err: fmt.Errorf("%q is not an action", req.Action)}
	}
	a, terr := f.target(op, req.Account, req.Region, req.InstanceID)
	if terr != nil {
		terr.Action = req.Action
		return nil, Detail{}, terr
	}
	d, err := f.describe(ctx, op, a, req.Region, req.InstanceID, protectionsFor(req.Action)...)
	if err != nil {
		return nil, Detail{}, err
	}
	if why := refusal(req.Action, d.State); why != "" {
		return nil, d, &Error{Kind: KindInvalidState, Op: op, Account: a.Name, Region: req.Region, InstanceID: d.ID,
			Name: d.Name, Action: req.Action, State: d.State, Err: errors.New(why)}
	}
	if req.Action == action.Terminate && d.TerminationProtected {
		return nil, d, &Error{Kind: KindProtected, Op: op, Account: a.Name, Region: req.Region, InstanceID: d.ID,
			Name: d.Name, Action: req.Action, Err: errors.New("disableApiTermination is set")}
	}
	if err := d.Allows(req.Action); err != nil {
		e := err.(*Error)
		e.Op = op
		return nil, d, e
	}
	return a, d, nil
}

// execution is one Do in progress; inst is the latest view of the instance.
type execution struct {
	f        *Fleet
	a        *account
	op       string
	req      ActionRequest
	inst     Instance
	start    time.Time
	progress func(Progress)
}

func (x *execution) errorf(kind Kind, err error) *Error {
	return &Error{Kind: kind, Op: x.op, Account: x.a.Name, Region: x.req.Region, InstanceID: x.req.InstanceID,
		Name: x.inst.Name, Action: x.req.Action, Err: err}
}

func (x *execution) mutate(ctx context.Context, a action.Action) error {
	client := x.a.ec2[x.req.Region]
	asActor := func(o *ec2.Options) {
		if x.a.actors != nil {
			o.Credentials = x.a.actors.get(x.req.session())
		}
	}
	ids := []string{x.req.InstanceID}
	var err error
	switch a {
	case action.Start:
		_, err = client.StartInstances(ctx, &ec2.StartInstancesInput{InstanceIds: ids}, asActor)
	case action.Stop:
		_, err = client.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: ids}, asActor)
	case action.Reboot:
		_, err = client.RebootInstances(ctx, &ec2.RebootInstancesInput{InstanceIds: ids}, asActor)
	case action.Terminate:
		_, err = client.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: ids}, asActor)
	}
	if err == nil {
		return nil
	}
	e := x.f.awsErr(x.op, x.a, x.req.Region, x.req.InstanceID, err)
	e.Name, e.Action = x.inst.Name, x.req.Action
	switch {
	case e.Kind != KindNotPermitted:
	case a == action.Terminate:
		// Protection switched on after our check.
		e.Kind = KindProtected
	case a == action.Stop && x.stopProtectedNow(ctx):
		// EC2 refuses stops for other reasons too (instance store
		// volumes), so ask the attribute rather than read the message.
		// For a restart, the stop is the step it refuses.
		e.Kind = KindProtected
	}
	return e
}

// stopProtectedNow re-reads the instance's stop protection after EC2
// refused a stop.
func (x *execution) stopProtectedNow(ctx context.Context) bool {
	out, err := x.a.ec2[x.req.Region].DescribeInstanceAttribute(ctx, &ec2.DescribeInstanceAttributeInput{
		InstanceId: aws.String(x.req.InstanceID), Attribute: types.InstanceAttributeNameDisableApiStop,
	})
	return err == nil && out.DisableApiStop != nil && aws.ToBool(out.DisableApiStop.Value)
}

type retryableFunc = func(context.Context, *ec2.DescribeInstancesInput, *ec2.DescribeInstancesOutput, error) (bool, error)

// wait polls with the SDK waiter for want, reporting each observed state.
// pollSaysNothing reports whether a wait's failed poll failed on EC2's side
// or on the way there, while the wait itself (ctx) goes on.
func pollSaysNothing(ctx context.Context, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	if throttled(err) || isUnreachable(err) {
		return true
	}
	re, ok := errors.AsType[*awshttp.ResponseError](err)
	return ok && re.HTTPStatusCode() >= 500
}

func (x *execution) wait(ctx context.Context, want string) error {
	var last string
	// An instance seen on its way to want and then back where it started
	// was turned back by someone else (started again during our stop):
	// it will not get there, so the wait ends instead of timing out. The
	// SDK's waiters take that state for "not yet".
	var transit, origin string
	switch want {
	case StateStopped:
		transit, origin = StateStopping, StateRunning
	case StateRunning:
		transit, origin = StatePending, StateStopped
	}
	seenTransit := false
	observe := func(def retryableFunc) retryableFunc {
		return func(ctx context.Context, in *ec2.DescribeInstancesInput, out *ec2.DescribeInstancesOutput, err error) (bool, error) {
			if err == nil && out != nil {
				for _, r := range out.Reservations {
					for _, i := range r.Instances {
						if aws.ToString(i.InstanceId) == x.req.InstanceID {
							x.inst = fromEC2(x.a.Name, x.req.Region, i)
							last = x.inst.State
							if x.progress != nil {
								x.progress(Progress{State: last, Elapsed: x.f.opts.Now().Sub(x.start)})
							}
						}
					}
				}
			}
			if transit != "" && last == transit {
				seenTransit = true
			}
			if seenTransit && last == origin && err == nil {
				return false, &stateChangeError{Want: want, Got: last}
			}
			if err != nil && pollSaysNothing(ctx, err) {
				// The action went out; a poll that failed on EC2's side
				// (the account's API budget spent by other waits and tools,
				// a 5xx, EC2 out of reach, a shared poll's own deadline)
				// says nothing of the instance, so the wait goes on,
				// within its timeout, instead of reporting the action
				// failed.
				return true, nil
			}
			if want == StateTerminated && (last == StatePending || last == StateStopping) && err == nil {
				// The SDK's terminated waiter fails on these, but they are
				// just the states we asked to terminate from; keep polling.
				return true, nil
			}
			retry, rerr := def(ctx, in, out, err)
			if rerr != nil && err == nil {
				return false, &stateChangeError{Want: want, Got: last}
			}
			return retry, rerr
		}
	}
	client := x.a.polls[x.req.Region] // the region's waits share their polls
	in := &ec2.DescribeInstancesInput{InstanceIds: []string{x.req.InstanceID}}
	minDelay, maxDelay, timeout := x.f.opts.WaitPollInterval, 3*x.f.opts.WaitPollInterval, x.f.opts.WaitTimeout
	var err error
	switch want {
	case StateRunning:
		_, err = ec2.NewInstanceRunningWaiter(client, func(o *ec2.InstanceRunningWaiterOptions) {
			o.MinDelay, o.MaxDelay, o.Retryable = minDelay, maxDelay, observe(o.Retryable)
		}).WaitForOutput(ctx, in, timeout)
	case StateStopped:
		_, err = ec2.NewInstanceStoppedWaiter(client, func(o *ec2.InstanceStoppedWaiterOptions) {
			o.MinDelay, o.MaxDelay, o.Retryable = minDelay, maxDelay, observe(o.Retryable)
		}).WaitForOutput(ctx, in, timeout)
	case StateTerminated:
		_, err = ec2.NewInstanceTerminatedWaiter(client, func(o *ec2.InstanceTerminatedWaiterOptions) {
			o.MinDelay, o.MaxDelay, o.Retryable = minDelay, maxDelay, observe(o.Retryable)
		}).WaitForOutput(ctx, in, timeout)
	}
	if err == nil {
		return nil
	}
	if sc, ok := errors.AsType[*stateChangeError](err); ok {
		e := x.errorf(KindInvalidState, sc)
		e.State = sc.Got
		return e
	}
	if ctx.Err() != nil {
		kind, _ := classify(ctx.Err())
		return x.errorf(kind, err)
	}
	// Other than AWS errors, a waiter only fails by running out of time
	// (with an untyped error, or the deadline of its own context).
	if _, isAWS := errors.AsType[*smithy.OperationError](err); !isAWS || errors.Is(err, context.DeadlineExceeded) {
		return x.errorf(KindTimeout, &waitTimeoutError{Want: want, Last: last, After: timeout, Err: err})
	}
	e := x.f.awsErr(x.op, x.a, x.req.Region, x.req.InstanceID, err)
	e.Name, e.Action = x.inst.Name, x.req.Action
	return e
}
