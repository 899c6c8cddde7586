package ec2ops

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

const (
	// readSessionName is the RoleSessionName of the shared session used for
	// listing and describing.
	readSessionName = "charlize"
	// readSessionDuration is the default maximum session of an IAM role.
	readSessionDuration = time.Hour
	// actorSessionDuration is AssumeRole's minimum: an acting user's session
	// only needs to outlive one action.
	actorSessionDuration = 15 * time.Minute
	// expiryWindow refreshes credentials this long before they expire so
	// that no call is signed with credentials about to lapse.
	expiryWindow = 2 * time.Minute
	// maxActorSessions bounds the per-account cache of acting users' sessions.
	maxActorSessions = 64
)

// assumeRoleProvider gets credentials with sts:AssumeRole. It is always
// wrapped in an aws.CredentialsCache, which caches and refreshes the result
// and lets concurrent callers (all regions of one account) share one call.
type assumeRoleProvider struct {
	client      *sts.Client
	roleARN     string
	externalID  string
	sessionName string
	// sourceIdentity is set for acting users; noSourceIdentity is shared by
	// all sessions of the account and remembers that the role's trust policy
	// does not allow sts:SetSourceIdentity, so we stop asking.
	sourceIdentity   string
	noSourceIdentity *atomic.Bool
	duration         time.Duration
}

func (p *assumeRoleProvider) Retrieve(ctx context.Context) (aws.Credentials, error) {
	withSI := p.sourceIdentity != "" && !p.noSourceIdentity.Load()
	creds, err := p.assume(ctx, withSI)
	if err != nil && withSI && isAccessDenied(err) {
		// The trust policy may allow AssumeRole but not SetSourceIdentity;
		// the session name still names the user.
		creds, err = p.assume(ctx, false)
		if err == nil {
			p.noSourceIdentity.Store(true)
		}
	}
	if err != nil {
		return aws.Credentials{}, &assumeRoleError{RoleARN: p.roleARN, Err: err}
	}
	return creds, nil
}

func (p *assumeRoleProvider) assume(ctx context.Context, withSourceIdentity bool) (aws.Credentials, error) {
	in := &sts.AssumeRoleInput{
		RoleArn:         aws.String(p.roleARN),
		RoleSessionName: aws.String(p.sessionName),
		DurationSeconds: aws.Int32(int32(p.duration / time.Second)),
	}
	if p.externalID != "" {
		in.ExternalId = aws.String(p.externalID)
	}
	if withSourceIdentity {
		in.SourceIdentity = aws.String(p.sourceIdentity)
	}
	out, err := p.client.AssumeRole(ctx, in)
	if err != nil {
		return aws.Credentials{}, err
	}
	c := out.Credentials
	if c == nil {
		return aws.Credentials{}, errors.New("AssumeRole returned no credentials")
	}
	return aws.Credentials{
		AccessKeyID:     aws.ToString(c.AccessKeyId),
		SecretAccessKey: aws.ToString(c.SecretAccessKey),
		SessionToken:    aws.ToString(c.SessionToken),
		Source:          "charlize AssumeRole",
		CanExpire:       c.Expiration != nil,
		Expires:         aws.ToTime(c.Expiration),
	}, nil
}

func newCredentialsCache(p aws.CredentialsProvider) *aws.CredentialsCache {
	return aws.NewCredentialsCache(p, func(o *aws.CredentialsCacheOptions) {
		o.ExpiryWindow = expiryWindow
		// Jitter spreads the refreshes of many accounts' sessions.
		o.ExpiryWindowJitterFrac = 0.5
	})
}

// sessionName turns a Slack user into a RoleSessionName (and SourceIdentity):
// 2-64 characters of [\w+=,.@-], prefixed so CloudTrail readers see where
// the name came from.
func sessionName(actor string) string {
	var b strings.Builder
	b.WriteString("slack-")
	for _, r := range actor {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', strings.ContainsRune("_+=,.@-", r):
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
		if b.Len() >= 64 {
			break
		}
	}
	return b.String()
}

// actorSessions caches each acting user's assumed-role credentials for one
// account, so a user acting on several instances assumes the role once.
type actorSessions struct {
	now func() time.Time
	new func(session string) aws.CredentialsProvider

	mu       sync.Mutex
	sessions map[string]*actorSession
}

type actorSession struct {
	creds    aws.CredentialsProvider
	lastUsed time.Time
}

// get returns the credentials of session name (sessionName of an actor, or
// a scheduler's own name).
func (c *actorSessions) get(name string) aws.CredentialsProvider {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s, ok := c.sessions[name]; ok {
		s.lastUsed = c.now()
		return s.creds
	}
	if len(c.sessions) >= maxActorSessions {
		// Evict the least recently used; a linear scan is fine at this size.
		var oldest string
		for k, s := range c.sessions {
			if oldest == "" || s.lastUsed.Before(c.sessions[oldest].lastUsed) {
				oldest = k
			}
		}
		delete(c.sessions, oldest)
	}
	s := &actorSession{creds: c.new(name), lastUsed: c.now()}
	c.sessions[name] = s
	return s.creds
}
