package ec2sim

import (
	"fmt"
	"net/http"
)

// Deny makes IAM refuse action (an EC2 action such as "StopInstances", or
// "GetMetricData") to every principal of account, as a role whose policy
// lacks it does: before the request is looked at, so a DryRun is refused
// too. It returns a function that lifts the denial.
func (s *Sim) Deny(account, action string) (lift func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.accountLocked(account)
	if a.denied == nil {
		a.denied = map[string]int{}
	}
	a.denied[action]++
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if a.denied[action] > 0 {
			a.denied[action]--
		}
	}
}

// deniedLocked answers a request whose action the caller's account denies.
func (s *Sim) deniedLocked(req *request, call Call) *apiError {
	a := s.accounts[call.Account]
	if a == nil || a.denied[req.action] == 0 {
		return nil
	}
	caller := s.callerARNLocked(req.akid)
	switch req.service {
	case "monitoring":
		return errorf(http.StatusForbidden, "AccessDenied",
			"User: %s is not authorized to perform: cloudwatch:%s because no identity-based policy allows the cloudwatch:%s action", caller, req.action, req.action)
	case "sqs":
		return errorf(http.StatusForbidden, "AccessDenied",
			"User: %s is not authorized to perform: sqs:%s because no identity-based policy allows the sqs:%s action", caller, req.action, req.action)
	}
	resource := "*"
	if len(call.InstanceIDs) > 0 {
		resource = fmt.Sprintf("arn:aws:ec2:%s:%s:instance/%s", req.region, call.Account, call.InstanceIDs[0])
	}
	return errorf(http.StatusForbidden, "UnauthorizedOperation",
		"You are not authorized to perform this operation. User: %s is not authorized to perform: ec2:%s on resource: %s because no identity-based policy allows the ec2:%s action.",
		caller, req.action, resource, req.action)
}
