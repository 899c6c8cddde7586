package ec2sim

import (
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ec2Handlers are the simulated EC2 actions. Each runs with s.mu held.
var ec2Handlers = map[string]func(s *Sim, req *request, acct string) (any, *apiError){
	"DescribeInstances":         (*Sim).describeInstances,
	"StartInstances":            (*Sim).startInstances,
	"StopInstances":             (*Sim).stopInstances,
	"RebootInstances":           (*Sim).rebootInstances,
	"TerminateInstances":        (*Sim).terminateInstances,
	"DescribeInstanceAttribute": (*Sim).describeInstanceAttribute,
	"ModifyInstanceAttribute":   (*Sim).modifyInstanceAttribute,
	"DescribeRegions":           (*Sim).describeRegions,
	"GetConsoleOutput":          (*Sim).getConsoleOutput,
	"CreateTags":                (*Sim).createTags,
	"DeleteTags":                (*Sim).deleteTags,
}

func (s *Sim) serveEC2(req *request, call Call) (any, *apiError) {
	h, ok := ec2Handlers[req.action]
	if !ok {
		return nil, errorf(http.StatusBadRequest, "InvalidAction", "The action %s is not valid for this web service.", req.action)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.admitLocked(req, call); err != nil {
		return nil, err
	}
	return h(s, req, call.Account)
}

// admitLocked refuses a request whose credentials expired or whose action
// IAM denies. IAM decides before anything else, DryRun included: that is
// what makes a dry run tell a missing permission.
func (s *Sim) admitLocked(req *request, call Call) *apiError {
	if err := s.checkExpiryLocked(req); err != nil {
		return err
	}
	return s.deniedLocked(req, call)
}

// checkExpiryLocked rejects expired simulator-issued keys when enabled.
func (s *Sim) checkExpiryLocked(req *request) *apiError {
	if !s.enforceExpiry {
		return nil
	}
	if sess, ok := s.sessions[req.akid]; ok && !req.now.Before(sess.expires) {
		return errorf(http.StatusBadRequest, "ExpiredToken", "The security token included in the request is expired")
	}
	return nil
}

func dryRun(req *request) *apiError {
	if req.get("DryRun") == "true" {
		return errorf(http.StatusPreconditionFailed, "DryRunOperation", "Request would have succeeded, but DryRun flag is set.")
	}
	return nil
}

// reservationID derives a stable reservation id from an instance id; the
// simulator puts every instance in its own reservation.
func reservationID(instanceID string) string {
	return "r-" + strings.TrimPrefix(instanceID, "i-")
}

// lookupLocked returns the settled records for ids (deduplicated, in request
// order), or InvalidInstanceID.Malformed / InvalidInstanceID.NotFound.
func (s *Sim) lookupLocked(acct, region string, ids []string, now time.Time) ([]*record, *apiError) {
	if len(ids) == 0 {
		return nil, errorf(http.StatusBadRequest, "MissingParameter", "The request must contain the parameter InstanceId")
	}
	var (
		out     []*record
		missing []string
		seen    = map[string]bool{}
	)
	for _, id := range ids {
		if !strings.HasPrefix(id, "i-") || len(id) < 3 {
			return nil, errorf(http.StatusBadRequest, "InvalidInstanceID.Malformed", "Invalid id: %q", id)
		}
		if seen[id] {
			continue
		}
		seen[id] = true
		r := s.recordLocked(acct, region, id)
		if r == nil {
			missing = append(missing, id)
			continue
		}
		r.settle(now, s.transition)
		out = append(out, r)
	}
	switch len(missing) {
	case 0:
		return out, nil
	case 1:
		return nil, errorf(http.StatusBadRequest, "InvalidInstanceID.NotFound", "The instance ID '%s' does not exist", missing[0])
	default:
		return nil, errorf(http.StatusBadRequest, "InvalidInstanceID.NotFound", "The instance IDs '%s' do not exist", strings.Join(missing, ", "))
	}
}

// Pagination tokens are opaque to clients; the simulator's carries the last
// instance id returned, so pages stay consistent while the fleet changes.
const tokenPrefix = "ec2sim:after:"

func encodeToken(lastID string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(tokenPrefix + lastID))
}

func decodeToken(tok string) (string, bool) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return "", false
	}
	return strings.CutPrefix(string(b), tokenPrefix)
}

func (s *Sim) describeInstances(req *request, acct string) (any, *apiError) {
	ids := req.list("InstanceId")
	pageSize := 0
	if v := req.get("MaxResults"); v != "" {
		if len(ids) > 0 {
			return nil, errorf(http.StatusBadRequest, "InvalidParameterCombination", "The parameter instancesSet cannot be used with the parameter maxResults")
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			return nil, errorf(http.StatusBadRequest, "InvalidParameterValue", "Value (%s) for parameter maxResults is invalid.", v)
		}
		switch {
		case n < 5:
			return nil, errorf(http.StatusBadRequest, "InvalidParameterValue", "Value ( %d ) for parameter maxResults is invalid. Expecting a value greater than 5.", n)
		case n > 1000:
			return nil, errorf(http.StatusBadRequest, "InvalidParameterValue", "Value ( %d ) for parameter maxResults is invalid. Expecting a value less than 1000.", n)
		}
		pageSize = n
	}
	after := ""
	if tok := req.get("NextToken"); tok != "" {
		var ok bool
		if after, ok = decodeToken(tok); !ok {
			return nil, errorf(http.StatusBadRequest, "InvalidPaginationToken", "The specified pagination token is not valid or is expired.")
		}
	}
	filters, ferr := parseFilters(req)
	if ferr != nil {
		return nil, ferr
	}

	var candidates []*record
	if len(ids) > 0 {
		rs, err := s.lookupLocked(acct, req.region, ids, req.now)
		if err != nil {
			return nil, err
		}
		slices.SortFunc(rs, func(x, y *record) int { return strings.Compare(x.inst.ID, y.inst.ID) })
		candidates = rs
	} else {
		candidates = s.fleetLocked(acct, req.region)
	}
	if err := dryRun(req); err != nil {
		return nil, err
	}

	resp := describeInstancesResponse{Xmlns: ec2Namespace, RequestID: req.id}
	for _, r := range candidates {
		if after != "" && r.inst.ID <= after {
			continue
		}
		r.settle(req.now, s.transition)
		if !matches(r, acct, filters) {
			continue
		}
		if pageSize > 0 && len(resp.Reservations) == pageSize {
			resp.NextToken = encodeToken(resp.Reservations[pageSize-1].Instances[0].InstanceID)
			break
		}
		resp.Reservations = append(resp.Reservations, xmlReservation{
			ReservationID: reservationID(r.inst.ID),
			OwnerID:       acct,
			Instances:     []xmlInstance{instanceXML(r, req.region)},
		})
	}
	return resp, nil
}

func instanceXML(r *record, region string) xmlInstance {
	in := r.inst
	x := xmlInstance{
		InstanceID:         in.ID,
		ImageID:            "ami-0123456789abcdef0",
		State:              stateXML(in.State),
		Reason:             r.reason,
		InstanceType:       in.Type,
		LaunchTime:         awsTime(in.LaunchTime),
		Placement:          xmlPlacement{AvailabilityZone: in.AZ, Tenancy: "default"},
		Platform:           in.Platform,
		PlatformDetails:    "Linux/UNIX",
		Architecture:       "x86_64",
		RootDeviceType:     "ebs",
		VirtualizationType: "hvm",
	}
	if in.Platform == "windows" {
		x.PlatformDetails = "Windows"
	}
	// Terminated instances lose their addresses; stopped ones keep only
	// the private address, as in EC2.
	if in.State != StateTerminated {
		x.PrivateIPAddress = in.PrivateIP
		if in.PrivateIP != "" {
			x.PrivateDNSName = "ip-" + strings.ReplaceAll(in.PrivateIP, ".", "-") + "." + regionDomain(region)
		}
	}
	if in.State == StateRunning || in.State == StatePending || in.State == StateStopping {
		x.IPAddress = in.PublicIP
		if in.PublicIP != "" {
			x.DNSName = "ec2-" + strings.ReplaceAll(in.PublicIP, ".", "-") + "." + region + ".compute.amazonaws.com"
		}
	}
	switch in.State {
	case StateStopping, StateStopped, StateShuttingDown, StateTerminated:
		x.StateReason = &xmlStateReason{Code: "Client.UserInitiatedShutdown", Message: "Client.UserInitiatedShutdown: User initiated shutdown"}
	}
	keys := make([]string, 0, len(in.Tags))
	for k := range in.Tags {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		x.Tags = append(x.Tags, xmlTag{Key: k, Value: in.Tags[k]})
	}
	return x
}

func regionDomain(region string) string {
	if region == "us-east-1" {
		return "ec2.internal"
	}
	return region + ".compute.internal"
}

func userInitiated(now time.Time) string {
	return "User initiated (" + now.UTC().Format("2006-01-02 15:04:05") + " GMT)"
}

// changeState validates every instance with check before changing any, as
// EC2 refuses the whole request when one instance is in the wrong state.
func (s *Sim) changeState(req *request, acct, respName string,
	check func(r *record) *apiError, apply func(r *record) string) (any, *apiError) {
	rs, err := s.lookupLocked(acct, req.region, req.list("InstanceId"), req.now)
	if err != nil {
		return nil, err
	}
	for _, r := range rs {
		if err := check(r); err != nil {
			return nil, err
		}
	}
	if err := dryRun(req); err != nil {
		return nil, err
	}
	resp := stateChangeResponse{XMLName: xml.Name{Local: respName}, Xmlns: ec2Namespace, RequestID: req.id}
	for _, r := range rs {
		prev := r.inst.State
		if next := apply(r); next != prev {
			// The answer shows the transitional state even when
			// TransitionTime is zero, as EC2 does; reads settle it.
			r.set(next, req.now)
		}
		resp.Changes = append(resp.Changes, xmlStateChange{
			InstanceID:    r.inst.ID,
			CurrentState:  stateXML(r.inst.State),
			PreviousState: stateXML(prev),
		})
	}
	return resp, nil
}

func incorrectState(format, id string) *apiError {
	return errorf(http.StatusBadRequest, "IncorrectInstanceState", format, id)
}

func (s *Sim) startInstances(req *request, acct string) (any, *apiError) {
	return s.changeState(req, acct, "StartInstancesResponse",
		func(r *record) *apiError {
			switch r.inst.State {
			case StateStopped, StatePending, StateRunning:
				return nil
			}
			return incorrectState("The instance '%s' is not in a state from which it can be started.", r.inst.ID)
		},
		func(r *record) string {
			if r.inst.State != StateStopped {
				return r.inst.State
			}
			r.inst.LaunchTime = req.now.UTC() // EC2 resets the launch time on start
			r.reason = ""
			return StatePending
		})
}

func (s *Sim) stopInstances(req *request, acct string) (any, *apiError) {
	return s.changeState(req, acct, "StopInstancesResponse",
		func(r *record) *apiError {
			if r.inst.DisableAPIStop && r.inst.State == StateRunning {
				return errorf(http.StatusBadRequest, "OperationNotPermitted",
					"The instance '%s' may not be stopped. Modify its 'disableApiStop' instance attribute and try again.", r.inst.ID)
			}
			switch r.inst.State {
			case StateRunning, StateStopping, StateStopped:
				return nil
			}
			return incorrectState("This instance '%s' is not in a state from which it can be stopped.", r.inst.ID)
		},
		func(r *record) string {
			if r.inst.State != StateRunning {
				return r.inst.State
			}
			r.reason = userInitiated(req.now)
			r.stoppedAt = req.now
			return StateStopping
		})
}

func (s *Sim) terminateInstances(req *request, acct string) (any, *apiError) {
	return s.changeState(req, acct, "TerminateInstancesResponse",
		func(r *record) *apiError {
			if r.inst.DisableAPITermination && r.inst.State != StateTerminated {
				return errorf(http.StatusBadRequest, "OperationNotPermitted",
					"The instance '%s' may not be terminated. Modify its 'disableApiTermination' instance attribute and try again.", r.inst.ID)
			}
			return nil
		},
		func(r *record) string {
			switch r.inst.State {
			case StateTerminated, StateShuttingDown:
				return r.inst.State
			}
			if r.inst.State == StateRunning {
				r.stoppedAt = req.now
			}
			r.reason = userInitiated(req.now)
			return StateShuttingDown
		})
}

func (s *Sim) rebootInstances(req *request, acct string) (any, *apiError) {
	rs, err := s.lookupLocked(acct, req.region, req.list("InstanceId"), req.now)
	if err != nil {
		return nil, err
	}
	for _, r := range rs {
		if r.inst.State != StateRunning {
			return nil, incorrectState("The instance '%s' is not in a state from which it can be rebooted.", r.inst.ID)
		}
	}
	if err := dryRun(req); err != nil {
		return nil, err
	}
	return returnResponse{XMLName: xml.Name{Local: "RebootInstancesResponse"}, Xmlns: ec2Namespace, RequestID: req.id, Return: true}, nil
}

// attributeRecord looks up the single instance of an attribute call.
func (s *Sim) attributeRecord(req *request, acct string) (*record, *apiError) {
	id := req.get("InstanceId")
	if id == "" {
		return nil, errorf(http.StatusBadRequest, "MissingParameter", "The request must contain the parameter InstanceId")
	}
	rs, err := s.lookupLocked(acct, req.region, []string{id}, req.now)
	if err != nil {
		return nil, err
	}
	return rs[0], nil
}

func (s *Sim) describeInstanceAttribute(req *request, acct string) (any, *apiError) {
	r, err := s.attributeRecord(req, acct)
	if err != nil {
		return nil, err
	}
	resp := describeInstanceAttributeResponse{Xmlns: ec2Namespace, RequestID: req.id, InstanceID: r.inst.ID}
	switch attr := req.get("Attribute"); attr {
	case "disableApiTermination":
		resp.DisableAPITermination = &xmlBoolValue{Value: r.inst.DisableAPITermination}
	case "disableApiStop":
		resp.DisableAPIStop = &xmlBoolValue{Value: r.inst.DisableAPIStop}
	case "instanceType":
		resp.InstanceType = &xmlStringValue{Value: r.inst.Type}
	case "":
		return nil, errorf(http.StatusBadRequest, "MissingParameter", "The request must contain the parameter attribute")
	default:
		return nil, errorf(http.StatusBadRequest, "InvalidParameterValue", "Value (%s) for parameter attribute is invalid. The simulator supports disableApiTermination, disableApiStop and instanceType.", attr)
	}
	if err := dryRun(req); err != nil {
		return nil, err
	}
	return resp, nil
}

func (s *Sim) modifyInstanceAttribute(req *request, acct string) (any, *apiError) {
	r, err := s.attributeRecord(req, acct)
	if err != nil {
		return nil, err
	}
	// The SDK sends either Attribute=name&Value=v or Name.Value=v.
	attr, value := req.get("Attribute"), req.get("Value")
	switch {
	case attr != "":
	case req.get("DisableApiTermination.Value") != "":
		attr, value = "disableApiTermination", req.get("DisableApiTermination.Value")
	case req.get("DisableApiStop.Value") != "":
		attr, value = "disableApiStop", req.get("DisableApiStop.Value")
	case req.get("InstanceType.Value") != "":
		attr, value = "instanceType", req.get("InstanceType.Value")
	default:
		return nil, errorf(http.StatusBadRequest, "MissingParameter", "No attributes specified.")
	}
	var apply func()
	switch attr {
	case "disableApiTermination":
		b, perr := strconv.ParseBool(value)
		if perr != nil {
			return nil, errorf(http.StatusBadRequest, "InvalidParameterValue", "Value (%s) for parameter disableApiTermination is invalid.", value)
		}
		apply = func() { r.inst.DisableAPITermination = b }
	case "disableApiStop":
		b, perr := strconv.ParseBool(value)
		if perr != nil {
			return nil, errorf(http.StatusBadRequest, "InvalidParameterValue", "Value (%s) for parameter disableApiStop is invalid.", value)
		}
		apply = func() { r.inst.DisableAPIStop = b }
	case "instanceType":
		if value == "" {
			return nil, errorf(http.StatusBadRequest, "InvalidParameterValue", "Value () for parameter instanceType is invalid.")
		}
		if r.inst.State != StateStopped {
			return nil, incorrectState("The instance '%s' is not in the 'stopped' state.", r.inst.ID)
		}
		apply = func() { r.inst.Type = value }
	default:
		return nil, errorf(http.StatusBadRequest, "InvalidParameterValue", "Value (%s) for parameter attribute is invalid. The simulator supports disableApiTermination, disableApiStop and instanceType.", attr)
	}
	if r.inst.State == StateTerminated {
		return nil, incorrectState("The instance '%s' is not in a state from which its attributes can be modified.", r.inst.ID)
	}
	if err := dryRun(req); err != nil {
		return nil, err
	}
	apply()
	return returnResponse{XMLName: xml.Name{Local: "ModifyInstanceAttributeResponse"}, Xmlns: ec2Namespace, RequestID: req.id, Return: true}, nil
}

func (s *Sim) describeRegions(req *request, acct string) (any, *apiError) {
	names := req.list("RegionName")
	filters, err := parseRegionFilters(req)
	if err != nil {
		return nil, err
	}
	if err := dryRun(req); err != nil {
		return nil, err
	}
	var regions []string
	if a := s.accounts[acct]; a != nil {
		for r := range a.regions {
			regions = append(regions, r)
		}
	}
	slices.Sort(regions)
	resp := describeRegionsResponse{Xmlns: ec2Namespace, RequestID: req.id}
	for _, r := range regions {
		if len(names) > 0 && !slices.Contains(names, r) {
			continue
		}
		if v, ok := filters["region-name"]; ok && !anyMatch(v, []string{r}) {
			continue
		}
		resp.Regions = append(resp.Regions, xmlRegion{
			RegionName:     r,
			RegionEndpoint: "ec2." + r + ".amazonaws.com",
			OptInStatus:    "opt-in-not-required",
		})
	}
	return resp, nil
}

func parseRegionFilters(req *request) (map[string][]string, *apiError) {
	out := map[string][]string{}
	for i := 1; ; i++ {
		prefix := fmt.Sprintf("Filter.%d", i)
		name := req.get(prefix + ".Name")
		if name == "" {
			return out, nil
		}
		switch name {
		case "region-name":
			out[name] = append(out[name], req.list(prefix+".Value")...)
		case "opt-in-status", "endpoint":
			// Every simulated region is opted in; ignore.
		default:
			return nil, errorf(http.StatusBadRequest, "InvalidParameterValue", "The filter '%s' is invalid", name)
		}
	}
}
