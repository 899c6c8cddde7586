package ec2sim

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// organizationsService is the SigV4 signing name of AWS Organizations.
const organizationsService = "organizations"

// organizationsTarget prefixes the X-Amz-Target of every Organizations
// call: the SDK speaks AWS JSON 1.1 to it.
const organizationsTarget = "AWSOrganizationsV20161128."

// FixtureOrganization is an AWS Organization: its management account
// (whose credentials, and only those, may list it) and its member accounts.
type FixtureOrganization struct {
	ID                string          `yaml:"id"`                 // o-…; generated when empty
	ManagementAccount string          `yaml:"management_account"` // 12 digits
	Accounts          []FixtureMember `yaml:"accounts"`
}

// FixtureMember is one account of an organization.
type FixtureMember struct {
	ID   string `yaml:"id"`
	Name string `yaml:"name"`
	// OU is the path of the account's organizational unit, by OU names:
	// "" or "/" for the root, "/Prod/Web" for OU Web inside OU Prod.
	OU string `yaml:"ou"`
	// State is ACTIVE (the default), SUSPENDED, PENDING_CLOSURE or CLOSED.
	State string `yaml:"state"`
}

var (
	orgIDRE      = regexp.MustCompile(`^o-[a-z0-9]{10,32}$`)
	memberStates = []string{"ACTIVE", "SUSPENDED", "PENDING_CLOSURE", "CLOSED", "PENDING_ACTIVATION"}
)

// validate reports the first problem in the organization.
func (o *FixtureOrganization) validate() error {
	if o.ID != "" && !orgIDRE.MatchString(o.ID) {
		return fmt.Errorf("organization %q: id must look like o-abcdef1234", o.ID)
	}
	if !accountIDRE.MatchString(o.ManagementAccount) {
		return fmt.Errorf("organization: management_account %q must be 12 digits", o.ManagementAccount)
	}
	seen := map[string]bool{}
	for _, m := range o.Accounts {
		switch {
		case !accountIDRE.MatchString(m.ID):
			return fmt.Errorf("organization account %q: id must be 12 digits", m.ID)
		case seen[m.ID]:
			return fmt.Errorf("organization account %s: listed twice", m.ID)
		case m.State != "" && !slices.Contains(memberStates, m.State):
			return fmt.Errorf("organization account %s: unknown state %q", m.ID, m.State)
		case strings.Trim(m.OU, "/") != "" && slices.Contains(strings.Split(strings.Trim(m.OU, "/"), "/"), ""):
			return fmt.Errorf("organization account %s: OU path %q has an empty OU name", m.ID, m.OU)
		}
		seen[m.ID] = true
	}
	return nil
}

// Organize makes every account of f a member of an organization managed
// by management (added to f when missing, without instances), named by
// name(i, id) for the i-th account; ou, when not nil, places it.
func Organize(f *Fixture, management string, name func(i int, id string) string, ou func(i int, id string) string) {
	org := &FixtureOrganization{ManagementAccount: management}
	found := false
	for i, a := range f.Accounts {
		found = found || a.ID == management
		m := FixtureMember{ID: a.ID, Name: name(i, a.ID)}
		if ou != nil {
			m.OU = ou(i, a.ID)
		}
		org.Accounts = append(org.Accounts, m)
	}
	if !found {
		f.Accounts = append(f.Accounts, FixtureAccount{ID: management})
		org.Accounts = append(org.Accounts, FixtureMember{ID: management, Name: "management"})
	}
	f.Organization = org
}

// organization is the loaded organization: members sorted by id, and the
// OU tree by path.
type organization struct {
	id, rootID, management string
	members                []FixtureMember
	ous                    map[string]orgUnit // by path "/Prod/Web"
	joined                 time.Time
}

type orgUnit struct {
	id, name, parent string // parent is a path; "" for OUs under the root
}

// loadOrganizationLocked installs f (or removes the organization when f is nil).
func (s *Sim) loadOrganizationLocked(f *FixtureOrganization, now time.Time) {
	if f == nil {
		s.org = nil
		return
	}
	o := &organization{id: f.ID, management: f.ManagementAccount, ous: map[string]orgUnit{}, joined: now}
	if o.id == "" {
		o.id = fmt.Sprintf("o-%010x", hash64(f.ManagementAccount)&0xffffffffff)
	}
	suffix := strings.TrimPrefix(o.id, "o-")[:4]
	o.rootID = "r-" + suffix
	for _, m := range f.Accounts {
		m.OU = ouPath(m.OU)
		if m.State == "" {
			m.State = "ACTIVE"
		}
		o.members = append(o.members, m)
		// Every OU on the path exists, parents first.
		parent := ""
		for _, name := range strings.Split(strings.Trim(m.OU, "/"), "/") {
			if name == "" {
				break
			}
			path := parent + "/" + name
			if _, ok := o.ous[path]; !ok {
				o.ous[path] = orgUnit{id: fmt.Sprintf("ou-%s-%08x", suffix, uint32(hash64(o.id+path))), name: name, parent: parent}
			}
			parent = path
		}
	}
	slices.SortFunc(o.members, func(a, b FixtureMember) int { return strings.Compare(a.ID, b.ID) })
	s.org = o
}

// ouPath normalizes an OU path to "/A/B" ("" for the root).
func ouPath(p string) string {
	p = strings.Trim(p, "/")
	if p == "" {
		return ""
	}
	return "/" + p
}

// orgHandlers are the simulated Organizations actions. Each runs with s.mu held.
var orgHandlers = map[string]func(s *Sim, req *request) (any, *apiError){
	"ListAccounts":                     (*Sim).listAccounts,
	"ListAccountsForParent":            (*Sim).listAccountsForParent,
	"ListRoots":                        (*Sim).listRoots,
	"ListOrganizationalUnitsForParent": (*Sim).listOrganizationalUnitsForParent,
}

func (s *Sim) serveOrganizations(req *request, call Call) (any, *apiError) {
	h, ok := orgHandlers[req.action]
	if !ok {
		return nil, errorf(http.StatusBadRequest, "UnknownOperationException", "The operation %s is not simulated.", req.action)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.checkExpiryLocked(req); err != nil {
		return nil, err
	}
	switch {
	case s.org == nil:
		return nil, errorf(http.StatusBadRequest, "AWSOrganizationsNotInUseException",
			"Your account is not a member of an organization.")
	case call.Account != s.org.management:
		return nil, errorf(http.StatusForbidden, "AccessDeniedException",
			"You don't have permissions to access this resource.")
	}
	return h(s, req)
}

// orgAccount is an Account as the JSON protocol carries it.
type orgAccount struct {
	ID              string  `json:"Id"`
	Arn             string  `json:"Arn"`
	Email           string  `json:"Email"`
	Name            string  `json:"Name"`
	Status          string  `json:"Status,omitempty"`
	State           string  `json:"State"`
	JoinedMethod    string  `json:"JoinedMethod"`
	JoinedTimestamp float64 `json:"JoinedTimestamp"`
}

func (s *Sim) orgAccountLocked(m FixtureMember) orgAccount {
	a := orgAccount{
		ID:    m.ID,
		Arn:   fmt.Sprintf("arn:aws:organizations::%s:account/%s/%s", s.org.management, s.org.id, m.ID),
		Email: "aws+" + m.ID + "@example.com", Name: m.Name, State: m.State,
		JoinedMethod: "CREATED", JoinedTimestamp: float64(s.org.joined.Unix()),
	}
	// Status, which AWS is retiring, has no value for the newer states.
	if slices.Contains([]string{"ACTIVE", "SUSPENDED", "PENDING_CLOSURE"}, m.State) {
		a.Status = m.State
	}
	return a
}

type listAccountsResponse struct {
	Accounts  []orgAccount `json:"Accounts"`
	NextToken string       `json:"NextToken,omitempty"`
}

func (s *Sim) listAccounts(req *request) (any, *apiError) {
	return s.accountsPageLocked(req, "ListAccounts", "", s.org.members)
}

// parentLocked resolves a ParentId to an OU path ("" for the root).
func (s *Sim) parentLocked(req *request) (string, *apiError) {
	id := req.jsonString("ParentId")
	if id == s.org.rootID {
		return "", nil
	}
	for path, ou := range s.org.ous {
		if ou.id == id {
			return path, nil
		}
	}
	if id == "" {
		return "", errorf(http.StatusBadRequest, "InvalidInputException", "You must specify ParentId.")
	}
	return "", errorf(http.StatusBadRequest, "ParentNotFoundException", "We can't find a root or OU with the ParentId that you specified.")
}

func (s *Sim) listAccountsForParent(req *request) (any, *apiError) {
	parent, err := s.parentLocked(req)
	if err != nil {
		return nil, err
	}
	var in []FixtureMember
	for _, m := range s.org.members {
		if m.OU == parent {
			in = append(in, m)
		}
	}
	return s.accountsPageLocked(req, "ListAccountsForParent", parent, in)
}

// accountsPageLocked answers one page of members.
func (s *Sim) accountsPageLocked(req *request, op, parent string, members []FixtureMember) (any, *apiError) {
	first, last, next, err := page(req, op, parent, len(members))
	if err != nil {
		return nil, err
	}
	resp := listAccountsResponse{Accounts: []orgAccount{}, NextToken: next}
	for _, m := range members[first:last] {
		resp.Accounts = append(resp.Accounts, s.orgAccountLocked(m))
	}
	return resp, nil
}

type orgUnitJSON struct {
	ID   string `json:"Id"`
	Arn  string `json:"Arn"`
	Name string `json:"Name"`
}

func (s *Sim) listOrganizationalUnitsForParent(req *request) (any, *apiError) {
	parent, err := s.parentLocked(req)
	if err != nil {
		return nil, err
	}
	var paths []string
	for path, ou := range s.org.ous {
		if ou.parent == parent {
			paths = append(paths, path)
		}
	}
	slices.Sort(paths)
	first, last, next, err := page(req, "ListOrganizationalUnitsForParent", parent, len(paths))
	if err != nil {
		return nil, err
	}
	resp := struct {
		OrganizationalUnits []orgUnitJSON `json:"OrganizationalUnits"`
		NextToken           string        `json:"NextToken,omitempty"`
	}{OrganizationalUnits: []orgUnitJSON{}, NextToken: next}
	for _, p := range paths[first:last] {
		ou := s.org.ous[p]
		resp.OrganizationalUnits = append(resp.OrganizationalUnits, orgUnitJSON{
			ID: ou.id, Name: ou.name,
			Arn: fmt.Sprintf("arn:aws:organizations::%s:ou/%s/%s", s.org.management, s.org.id, ou.id),
		})
	}
	return resp, nil
}

func (s *Sim) listRoots(req *request) (any, *apiError) {
	if _, _, _, err := page(req, "ListRoots", "", 1); err != nil {
		return nil, err
	}
	type root struct {
		ID          string   `json:"Id"`
		Arn         string   `json:"Arn"`
		Name        string   `json:"Name"`
		PolicyTypes []string `json:"PolicyTypes"`
	}
	return struct {
		Roots []root `json:"Roots"`
	}{Roots: []root{{
		ID: s.org.rootID, Name: "Root", PolicyTypes: []string{},
		Arn: fmt.Sprintf("arn:aws:organizations::%s:root/%s/%s", s.org.management, s.org.id, s.org.rootID),
	}}}, nil
}

// orgMaxResults is what Organizations' list calls accept at most (and
// return when MaxResults is absent).
const orgMaxResults = 20

// page reads MaxResults and NextToken for a listing of n items and returns
// the slice bounds and the next token. Tokens name their listing, so one
// from another call is refused as AWS refuses it.
func page(req *request, op, parent string, n int) (first, last int, next string, _ *apiError) {
	size := orgMaxResults
	if v, ok := req.input["MaxResults"]; ok {
		f, isNum := v.(float64)
		if !isNum || f < 1 || f > orgMaxResults || f != float64(int(f)) {
			return 0, 0, "", errorf(http.StatusBadRequest, "InvalidInputException",
				"You provided a value that does not match the required pattern: MaxResults must be between 1 and %d.", orgMaxResults)
		}
		size = int(f)
	}
	if tok := req.jsonString("NextToken"); tok != "" {
		raw, err := base64.RawURLEncoding.DecodeString(tok)
		prefix := op + "|" + parent + "|"
		offset, convErr := strconv.Atoi(strings.TrimPrefix(string(raw), prefix))
		if err != nil || !strings.HasPrefix(string(raw), prefix) || convErr != nil || offset < 0 || offset > n {
			return 0, 0, "", errorf(http.StatusBadRequest, "InvalidInputException", "The NextToken is not valid.")
		}
		first = offset
	}
	last = min(first+size, n)
	if last < n {
		next = base64.RawURLEncoding.EncodeToString([]byte(op + "|" + parent + "|" + strconv.Itoa(last)))
	}
	return first, last, next, nil
}

// decodeJSONRequest reads an AWS JSON 1.1 request: the operation from
// X-Amz-Target, the input from the body.
func decodeJSONRequest(hr *http.Request, req *request) *apiError {
	target := hr.Header.Get("X-Amz-Target")
	op, ok := strings.CutPrefix(target, organizationsTarget)
	if !ok {
		return errorf(http.StatusBadRequest, "UnknownOperationException", "The X-Amz-Target %q is not an Organizations operation.", target)
	}
	req.action = op
	body, err := io.ReadAll(io.LimitReader(hr.Body, 1<<20))
	if err != nil {
		return errorf(http.StatusBadRequest, "SerializationException", "%v", err)
	}
	req.input = map[string]any{}
	if len(body) > 0 {
		if err := json.Unmarshal(body, &req.input); err != nil {
			return errorf(http.StatusBadRequest, "SerializationException", "The request body is not a JSON object: %v", err)
		}
	}
	return nil
}

func (r *request) jsonString(key string) string {
	s, _ := r.input[key].(string)
	return s
}

func writeJSON(w http.ResponseWriter, requestID string, status int, body any) {
	out, err := json.Marshal(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("x-amzn-RequestId", requestID)
	w.WriteHeader(status)
	_, _ = w.Write(out)
}

// writeJSONError writes the AWS JSON error shape; the SDK reads the code
// from X-Amzn-ErrorType or __type.
func writeJSONError(w http.ResponseWriter, requestID string, e *apiError) {
	w.Header().Set("X-Amzn-ErrorType", e.Code)
	writeJSON(w, requestID, e.Status, map[string]string{"__type": e.Code, "Message": e.Message})
}
