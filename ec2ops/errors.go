package ec2ops

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"

	"github.com/charlize-app/charlize/ec2ops/action"
)

// Kind classifies an error so that callers can choose a response with
// errors.Is(err, ec2ops.KindNotFound) instead of reading message text.
type Kind uint8

// The kinds of error ec2ops reports.
const (
	KindUnknown        Kind = iota // anything not classified below
	KindInvalidQuery               // a query term could not be parsed or names an unknown account or region
	KindInvalidRequest             // an action request is malformed (unknown action, account, region, id, no actor)
	KindInvalidState               // the instance's state does not allow the action
	KindProtected                  // termination protection (terminate) or stop protection (stop, restart) is on
	KindNotFound                   // no such instance, or outside the managed-tag scope
	KindAccessDenied               // IAM denied the call
	KindNotPermitted               // EC2 refused the operation on this instance (OperationNotPermitted)
	KindThrottled                  // AWS throttled the call after the SDK's retries
	KindAssumeRole                 // credentials for the account could not be obtained (AssumeRole denied, expired token)
	KindTimeout                    // AWS did not answer, or the instance did not reach the target state, in time
	KindCanceled                   // the caller's context was canceled
)

var kindNames = [...]string{
	KindUnknown:        "unknown error",
	KindInvalidQuery:   "invalid query",
	KindInvalidRequest: "invalid request",
	KindInvalidState:   "invalid state",
	KindProtected:      "termination protected",
	KindNotFound:       "not found",
	KindAccessDenied:   "access denied",
	KindNotPermitted:   "operation not permitted",
	KindThrottled:      "throttled",
	KindAssumeRole:     "assume role failed",
	KindTimeout:        "timeout",
	KindCanceled:       "canceled",
}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Error makes a Kind usable as an errors.Is target.
func (k Kind) Error() string { return k.String() }

// KindOf returns the kind of the first *Error in err's chain, or KindUnknown.
func KindOf(err error) Kind {
	if e, ok := errors.AsType[*Error](err); ok {
		return e.Kind
	}
	return KindUnknown
}

// Error is the error every exported ec2ops function returns. Its fields carry
// what UserMessage needs to explain the problem to a Slack user; Error() is
// for logs and includes the wrapped AWS error.
type Error struct {
	Kind       Kind
	Op         string // the ec2ops operation, e.g. "ec2ops.Do stop"
	Account    string // account name
	Region     string
	InstanceID string
	Name       string        // the instance's Name tag, when known, so messages read "web-1"
	Action     action.Action // the action refused or attempted, if any
	State      string        // the instance state that refused the action (KindInvalidState)
	RoleARN    string        // the role that lacks a permission or could not be assumed; "" for ambient credentials
	IAMAction  string        // the IAM action that was denied, e.g. "ec2:StopInstances"
	Term       string        // the offending query term (KindInvalidQuery)
	Err        error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Op)
	if where := e.where("/"); where != "" {
		b.WriteString(" ")
		b.WriteString(where)
	}
	b.WriteString(": ")
	b.WriteString(e.Kind.String())
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the underlying error, typically the AWS SDK's.
func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is e's Kind.
func (e *Error) Is(target error) bool {
	k, ok := target.(Kind)
	return ok && k == e.Kind
}

func (e *Error) where(sep string) string {
	var parts []string
	for _, p := range []string{e.Account, e.Region, e.InstanceID} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	return strings.Join(parts, sep)
}

// subject is how messages name the instance: its Name tag, else its id.
func (e *Error) subject() string {
	switch {
	case e.Name != "":
		return e.Name
	case e.InstanceID != "":
		return e.InstanceID
	}
	return "the instance"
}

// in names the account (and region) for messages: "in acme-prod (eu-west-1)".
func (e *Error) in() string {
	switch {
	case e.Account != "" && e.Region != "":
		return fmt.Sprintf(" in %s (%s)", e.Account, e.Region)
	case e.Account != "":
		return " in " + e.Account
	}
	return ""
}

// UserMessage returns what a Slack user should read. It never contains AWS
// request ids or credentials; it names the IAM action or role where that helps
// the user (or their admin) fix the problem.
func (e *Error) UserMessage() string {
	switch e.Kind {
	case KindInvalidQuery, KindInvalidRequest:
		return e.detail()
	case KindInvalidState:
		if sc, ok := errors.AsType[*stateChangeError](e.Err); ok {
			return fmt.Sprintf("%s became %s while Charlize was waiting for it to be %s", e.subject(), sc.Got, sc.Want)
		}
		return e.subject() + " " + refusal(e.Action, e.State)
	case KindProtected:
		if stopsInstance(e.Action) {
			return fmt.Sprintf("stop protection is on for %s — turn it off with `aws ec2 modify-instance-attribute --region %s --instance-id %s --no-disable-api-stop` or in the console, then try again",
				e.subject(), e.Region, e.InstanceID)
		}
		return fmt.Sprintf("termination protection is on for %s — turn it off with `aws ec2 modify-instance-attribute --region %s --instance-id %s --no-disable-api-termination` or in the console, then try again",
			e.subject(), e.Region, e.InstanceID)
	case KindNotFound:
		return fmt.Sprintf("there is no instance %s%s that Charlize can see", e.InstanceID, e.in())
	case KindAccessDenied:
		who := "Charlize's AWS credentials lack"
		if e.RoleARN != "" {
			who = "the role " + e.RoleARN + " lacks"
		}
		what := e.IAMAction
		if what == "" {
			what = "a permission needed for this"
		}
		return fmt.Sprintf("%s %s%s", who, what, e.in())
	case KindNotPermitted:
		msg := fmt.Sprintf("AWS does not allow %s on %s", actionVerb(e.Action), e.subject())
		if apiErr, ok := errors.AsType[smithy.APIError](e.Err); ok && apiErr.ErrorMessage() != "" {
			msg += ": " + apiErr.ErrorMessage()
		}
		return msg
	case KindThrottled:
		return fmt.Sprintf("AWS is throttling Charlize's requests%s; try again in a minute", e.in())
	case KindAssumeRole:
		if isExpired(e.Err) {
			return fmt.Sprintf("Charlize's AWS credentials have expired, so it cannot reach %s; whoever runs Charlize needs to refresh them", e.Account)
		}
		return fmt.Sprintf("Charlize could not assume the role %s for %s — check the role's trust policy and external id", e.RoleARN, e.Account)
	case KindTimeout:
		if wt, ok := errors.AsType[*waitTimeoutError](e.Err); ok {
			msg := fmt.Sprintf("gave up waiting for %s to be %s after %s", e.subject(), wt.Want, roundDuration(wt.After))
			if wt.Last != "" {
				msg += "; it was last seen " + wt.Last
			}
			return msg
		}
		return fmt.Sprintf("AWS did not answer in time%s; try again", e.in())
	case KindCanceled:
		return "the request was canceled"
	}
	return "something went wrong talking to AWS"
}

// roundDuration keeps messages readable: "10m0s", not "10m0.000213s".
func roundDuration(d time.Duration) time.Duration {
	if d >= time.Second {
		return d.Round(time.Second)
	}
	return d.Round(time.Millisecond)
}

// detail returns the text of an error ec2ops wrote itself (query and request
// errors), which is phrased for users, with a fallback for an Error built
// elsewhere without one.
func (e *Error) detail() string {
	switch {
	case e.Err != nil:
		return e.Err.Error()
	case e.Term != "":
		return fmt.Sprintf("I couldn't use `%s` in that query", e.Term)
	case e.Kind == KindInvalidQuery:
		return "I couldn't read that query"
	}
	return "that request is not valid"
}

// stateChangeError: while waiting, the instance entered a state from which
// the wanted one cannot be reached (e.g. terminated while waiting for running).
type stateChangeError struct{ Want, Got string }

func (e *stateChangeError) Error() string {
	return fmt.Sprintf("instance became %s while waiting for %s", e.Got, e.Want)
}

// waitTimeoutError: the waiter gave up before the instance reached Want.
type waitTimeoutError struct {
	Want, Last string
	After      time.Duration
	Err        error
}

func (e *waitTimeoutError) Error() string {
	return fmt.Sprintf("instance not %s after %s (last %q): %v", e.Want, e.After, e.Last, e.Err)
}

func (e *waitTimeoutError) Unwrap() error { return e.Err }

// assumeRoleError marks an error from obtaining assumed-role credentials; it
// reaches us through the SDK's signing middleware, wrapped in the EC2 call's
// error.
type assumeRoleError struct {
	RoleARN string
	Err     error
}

func (e *assumeRoleError) Error() string {
	return fmt.Sprintf("assume role %s: %v", e.RoleARN, e.Err)
}

func (e *assumeRoleError) Unwrap() error { return e.Err }

var (
	accessDeniedCodes = map[string]bool{
		"UnauthorizedOperation": true, "AccessDenied": true, "AccessDeniedException": true,
		"UnauthorizedAccess": true, "AuthFailure": true,
	}
	notFoundCodes = map[string]bool{
		"InvalidInstanceID.NotFound": true, "InvalidInstanceID.Malformed": true,
	}
	expiredCodes = map[string]bool{
		"ExpiredToken": true, "ExpiredTokenException": true, "RequestExpired": true,
	}
)

func apiCode(err error) string {
	if apiErr, ok := errors.AsType[smithy.APIError](err); ok {
		return apiErr.ErrorCode()
	}
	return ""
}

func isAccessDenied(err error) bool { return accessDeniedCodes[apiCode(err)] }

func isExpired(err error) bool { return expiredCodes[apiCode(err)] }

// classify maps an error from the AWS SDK to a Kind and, for denials, the IAM
// action that was refused. The SDK has already retried throttling and
// transient failures by the time we see the error.
func classify(err error) (kind Kind, iamAction string) {
	if opErr, ok := errors.AsType[*smithy.OperationError](err); ok {
		iamAction = strings.ToLower(opErr.ServiceID) + ":" + opErr.OperationName
	}
	if _, ok := errors.AsType[*assumeRoleError](err); ok {
		return KindAssumeRole, "sts:AssumeRole"
	}
	code := apiCode(err)
	switch {
	case code == "":
	case accessDeniedCodes[code]:
		return KindAccessDenied, iamAction
	case notFoundCodes[code]:
		return KindNotFound, iamAction
	case code == "IncorrectInstanceState":
		return KindInvalidState, iamAction
	case code == "OperationNotPermitted":
		return KindNotPermitted, iamAction
	case expiredCodes[code]:
		return KindAssumeRole, iamAction
	default:
		if _, ok := retry.DefaultThrottleErrorCodes[code]; ok {
			return KindThrottled, iamAction
		}
		return KindUnknown, iamAction
	}
	switch {
	case errors.Is(err, context.Canceled):
		return KindCanceled, iamAction
	case errors.Is(err, context.DeadlineExceeded):
		return KindTimeout, iamAction
	}
	if netErr, ok := errors.AsType[net.Error](err); ok && netErr.Timeout() {
		return KindTimeout, iamAction
	}
	return KindUnknown, iamAction
}
