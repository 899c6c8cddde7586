package ec2sim

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"hash/fnv"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// roleARNRE matches arn:aws:iam::<account>:role/[path/]<name>.
var roleARNRE = regexp.MustCompile(`^arn:aws[a-z-]*:iam::(\d{12}):role/(?:[\w+=,.@/-]*/)?([\w+=,.@-]+)$`)

// sessionNameRE is STS's constraint on RoleSessionName.
var sessionNameRE = regexp.MustCompile(`^[\w+=,.@-]{2,64}$`)

// parseRoleARN returns the account and role name of a role ARN.
func parseRoleARN(arn string) (account, role string, ok bool) {
	m := roleARNRE.FindStringSubmatch(arn)
	if m == nil {
		return "", "", false
	}
	return m[1], m[2], true
}

func (s *Sim) serveSTS(req *request, call Call) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.checkExpiryLocked(req); err != nil {
		return nil, err
	}
	switch req.action {
	case "AssumeRole":
		return s.assumeRoleLocked(req)
	case "GetCallerIdentity":
		return s.getCallerIdentityLocked(req, call)
	default:
		return nil, errorf(http.StatusBadRequest, "InvalidAction", "Could not find operation %s for version 2011-06-15", req.action)
	}
}

// callerARNLocked is the ARN AWS would report for the request's principal.
func (s *Sim) callerARNLocked(akid string) string {
	if sess, ok := s.sessions[akid]; ok {
		_, role, _ := parseRoleARN(sess.roleARN)
		return fmt.Sprintf("arn:aws:sts::%s:assumed-role/%s/%s", sess.account, role, sess.sessionName)
	}
	return fmt.Sprintf("arn:aws:iam::%s:user/charlize", s.defaultAccount)
}

func (s *Sim) assumeRoleLocked(req *request) (any, *apiError) {
	roleARN := req.get("RoleArn")
	sessionName := req.get("RoleSessionName")
	acctID, role, ok := parseRoleARN(roleARN)
	if !ok {
		return nil, errorf(http.StatusBadRequest, "ValidationError", "%s is invalid", roleARN)
	}
	if !sessionNameRE.MatchString(sessionName) {
		return nil, errorf(http.StatusBadRequest, "ValidationError",
			"1 validation error detected: Value '%s' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*", sessionName)
	}
	ttl := DefaultCredentialTTL
	if v := req.get("DurationSeconds"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 900 || n > 43200 {
			return nil, errorf(http.StatusBadRequest, "ValidationError",
				"1 validation error detected: Value '%s' at 'durationSeconds' failed to satisfy constraint: Member must have value between 900 and 43200", v)
		}
		ttl = time.Duration(n) * time.Second
	}
	if s.credentialTTL > 0 {
		ttl = s.credentialTTL
	}

	caller := s.callerARNLocked(req.akid)
	denied := func(action string) *apiError {
		return errorf(http.StatusForbidden, "AccessDenied", "User: %s is not authorized to perform: %s on resource: %s", caller, action, roleARN)
	}
	target, ok := s.accounts[acctID]
	if !ok || (target.externalID != "" && req.get("ExternalId") != target.externalID) {
		return nil, denied("sts:AssumeRole")
	}
	sourceIdentity := req.get("SourceIdentity")
	if prev, ok := s.sessions[req.akid]; ok && sourceIdentity == "" {
		sourceIdentity = prev.sourceIdentity // source identity survives role chaining
	}
	if sourceIdentity != "" && target.denySourceIdentity {
		return nil, denied("sts:SetSourceIdentity")
	}

	akid := "ASIA" + randomString(16, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
	expires := req.now.Add(ttl)
	s.sessions[akid] = session{
		account:        acctID,
		roleARN:        roleARN,
		sessionName:    sessionName,
		sourceIdentity: sourceIdentity,
		expires:        expires,
	}

	resp := assumeRoleResponse{Xmlns: stsNamespace}
	resp.Result.AssumedRoleUser.Arn = fmt.Sprintf("arn:aws:sts::%s:assumed-role/%s/%s", acctID, role, sessionName)
	resp.Result.AssumedRoleUser.AssumedRoleID = roleID(acctID, role) + ":" + sessionName
	resp.Result.Credentials.AccessKeyID = akid
	resp.Result.Credentials.SecretAccessKey = randomString(40, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
	resp.Result.Credentials.SessionToken = randomToken()
	resp.Result.Credentials.Expiration = awsTime(expires)
	resp.Result.SourceIdentity = sourceIdentity
	resp.Metadata.RequestID = req.id
	return resp, nil
}

func (s *Sim) getCallerIdentityLocked(req *request, call Call) (any, *apiError) {
	resp := getCallerIdentityResponse{Xmlns: stsNamespace}
	resp.Result.Account = call.Account
	resp.Result.Arn = s.callerARNLocked(req.akid)
	if sess, ok := s.sessions[req.akid]; ok {
		_, role, _ := parseRoleARN(sess.roleARN)
		resp.Result.UserID = roleID(sess.account, role) + ":" + sess.sessionName
	} else {
		resp.Result.UserID = "AIDA" + strings.ToUpper(fmt.Sprintf("%016x", hash64(call.Account)))
	}
	resp.Metadata.RequestID = req.id
	return resp, nil
}

// roleID is a stable, AWS-looking unique id for a role.
func roleID(account, role string) string {
	return "AROA" + strings.ToUpper(fmt.Sprintf("%016x", hash64(account+"/"+role)))
}

func hash64(s string) uint64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(s))
	return h.Sum64()
}

func randomString(n int, alphabet string) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

func randomToken() string {
	b := make([]byte, 96)
	_, _ = rand.Read(b)
	return "FwoGZXIvYXdzE" + base64.StdEncoding.EncodeToString(b)
}
