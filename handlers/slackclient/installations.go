package slackclient

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/slack-go/slack"

	"github.com/charlize-app/charlize/handlers/reqctx"
	"github.com/charlize-app/charlize/store"
)

// Token rotation: tokens are refreshed this long before they expire, and
// one replica at a time refreshes a given installation.
const (
	DefaultRefreshBefore = 10 * time.Minute
	refreshClaimTTL      = 30 * time.Second
	refreshWaitStep      = 100 * time.Millisecond
)

// InstallationsOptions configure store-backed clients.
type InstallationsOptions struct {
	Store store.Store
	// APIURL is Slack's Web API base.
	APIURL     string
	HTTPClient *http.Client
	// ClientID and ClientSecret refresh rotating tokens.
	ClientID, ClientSecret string
	Log                    *slog.Logger
	Now                    func() time.Time
	// RefreshBefore is how long before expiry a token is refreshed
	// (default DefaultRefreshBefore).
	RefreshBefore time.Duration
	// Holder names this process in refresh claims (default random).
	Holder string
}

// Installations is the multi-workspace Clients: every request acts with
// the bot token of its workspace's installation (its team's, else its
// Enterprise Grid org's), refreshed first when token rotation is on.
type Installations struct {
	o        InstallationsOptions
	clients  sync.Map // bot token → *Client
	nclients atomic.Int64
}

var _ Clients = (*Installations)(nil)

// NewInstallations builds store-backed clients.
func NewInstallations(o InstallationsOptions) *Installations {
	o.HTTPClient, o.Log, o.Now = Defaults(o.HTTPClient, o.Log, o.Now)
	o.RefreshBefore = cmp.Or(o.RefreshBefore, DefaultRefreshBefore)
	if o.Holder == "" {
		o.Holder = uuid.NewString()
	}
	return &Installations{o: o}
}

// Client returns a client acting with team's installation's bot token, or
// ErrNotInstalled.
func (i *Installations) Client(ctx context.Context, team Team) (API, error) {
	inst, err := i.lookup(ctx, team)
	if err != nil {
		return nil, err
	}
	if i.needsRefresh(inst) {
		inst, err = i.refresh(ctx, inst)
		if err != nil {
			return nil, err
		}
		reqctx.Forget(ctx, memoKey(team))
	}
	return i.client(inst.BotToken), nil
}

// maxClients bounds the clients kept for reuse; rotated tokens leave old
// entries behind, so past the bound the cache starts afresh.
const maxClients = 10_000

// client returns a client for token, reusing one made earlier: a client is
// cheap, but its options and HTTP plumbing need not be built per request.
func (i *Installations) client(token string) *Client {
	if c, ok := i.clients.Load(token); ok {
		return c.(*Client)
	}
	c := NewClient(token, i.o.APIURL, i.o.HTTPClient)
	if i.nclients.Add(1) > maxClients {
		i.clients.Clear()
		i.nclients.Store(1)
	}
	actual, _ := i.clients.LoadOrStore(token, c)
	return actual.(*Client)
}

// Installed reports ErrNotInstalled when team has no installation; the
// Dispatcher asks before answering anything.
func (i *Installations) Installed(ctx context.Context, team Team) error {
	_, err := i.lookup(ctx, team)
	return err
}

// lookupMemo bounds how long a request (and the work it starts) reuses the
// installation it read, so a long action still sees a refreshed token.
const lookupMemo = 10 * time.Second

// lookup finds the installation of team: the workspace's own first, then
// an org-wide install of its Enterprise Grid org. A request reads (and
// decrypts) it once, however many times its flow asks.
func (i *Installations) lookup(ctx context.Context, team Team) (store.Installation, error) {
	return reqctx.Remember(ctx, memoKey(team), lookupMemo, func() (store.Installation, error) {
		return i.read(ctx, team)
	})
}

func memoKey(team Team) string { return "installation:" + team.ID + "/" + team.EnterpriseID }

func (i *Installations) read(ctx context.Context, team Team) (store.Installation, error) {
	var keys []string
	if team.ID != "" {
		keys = append(keys, store.TeamKey(team.ID))
	}
	if team.EnterpriseID != "" {
		keys = append(keys, store.EnterpriseKey(team.EnterpriseID))
	}
	for _, k := range keys {
		inst, err := i.o.Store.Installation(ctx, k)
		if err == nil {
			return inst, nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return store.Installation{}, fmt.Errorf("installation %s: %w", k, err)
		}
	}
	return store.Installation{}, ErrNotInstalled
}

func (i *Installations) needsRefresh(inst store.Installation) bool {
	return inst.RefreshToken != "" && !inst.BotTokenExpiresAt.IsZero() &&
		!i.o.Now().Add(i.o.RefreshBefore).Before(inst.BotTokenExpiresAt)
}

// refresh exchanges inst's refresh token for a new bot token, once across
// replicas: the store's Claim is a short lock; whoever loses it waits for
// the winner's result (or, while the old token is still valid, uses it).
func (i *Installations) refresh(ctx context.Context, inst store.Installation) (store.Installation, error) {
	lock := store.RefreshKey(inst.Key)
	for {
		won, _, err := i.o.Store.Claim(ctx, lock, i.o.Holder, refreshClaimTTL)
		if err != nil {
			i.o.Log.WarnContext(ctx, "token refresh: cannot claim", "request_id", reqctx.ID(ctx), "installation", inst.Key, "err", err)
			return i.stale(inst, fmt.Errorf("refresh %s: claim: %w", inst.Key, err))
		}
		if won {
			defer func() {
				if err := i.o.Store.ReleaseClaim(context.WithoutCancel(ctx), lock, i.o.Holder); err != nil {
					i.o.Log.WarnContext(ctx, "could not release token refresh claim", "installation", inst.Key, "err", err)
				}
			}()
			return i.refreshLocked(ctx, inst.Key)
		}
		// Someone else is refreshing. A token that has not expired yet is
		// still good for this request.
		if i.o.Now().Before(inst.BotTokenExpiresAt) {
			return inst, nil
		}
		t := time.NewTimer(refreshWaitStep)
		select {
		case <-ctx.Done():
			t.Stop()
			return store.Installation{}, fmt.Errorf("refresh %s: %w", inst.Key, ctx.Err())
		case <-t.C:
		}
		fresh, err := i.o.Store.Installation(ctx, inst.Key)
		if errors.Is(err, store.ErrNotFound) {
			return store.Installation{}, ErrNotInstalled
		}
		if err == nil && !i.needsRefresh(fresh) {
			return fresh, nil
		}
	}
}

// refreshLocked runs with the refresh claim held.
func (i *Installations) refreshLocked(ctx context.Context, key string) (store.Installation, error) {
	// Another replica may have refreshed between our read and our claim.
	inst, err := i.o.Store.Installation(ctx, key)
	if errors.Is(err, store.ErrNotFound) {
		return store.Installation{}, ErrNotInstalled
	}
	if err != nil {
		return store.Installation{}, fmt.Errorf("refresh %s: %w", key, err)
	}
	if !i.needsRefresh(inst) {
		return inst, nil
	}
	resp, err := slack.RefreshOAuthV2TokenContext(ctx, i.o.HTTPClient, i.o.ClientID, i.o.ClientSecret, inst.RefreshToken,
		slack.OAuthOptionAPIURL(i.o.APIURL))
	if err != nil {
		i.o.Log.ErrorContext(ctx, "token refresh failed", "request_id", reqctx.ID(ctx), "installation", key,
			"slack_error", ErrorCode(err), "err", err)
		return i.stale(inst, fmt.Errorf("refresh %s: %w", key, err))
	}
	if resp.AccessToken == "" {
		return i.stale(inst, fmt.Errorf("refresh %s: no access token in answer", key))
	}
	now := i.o.Now().UTC()
	inst.BotToken = resp.AccessToken
	if resp.RefreshToken != "" {
		inst.RefreshToken = resp.RefreshToken
	}
	inst.BotTokenExpiresAt = time.Time{}
	if resp.ExpiresIn > 0 {
		inst.BotTokenExpiresAt = now.Add(time.Duration(resp.ExpiresIn) * time.Second)
	}
	if err := i.o.Store.SaveInstallation(ctx, inst); err != nil {
		return store.Installation{}, fmt.Errorf("refresh %s: save: %w", key, err)
	}
	i.o.Log.InfoContext(ctx, "token refreshed", "request_id", reqctx.ID(ctx), "installation", key, "expires_at", inst.BotTokenExpiresAt)
	return inst, nil
}

// stale returns inst when its token is still valid despite err (a failed
// refresh is retried on the next request), else err.
func (i *Installations) stale(inst store.Installation, err error) (store.Installation, error) {
	if i.o.Now().Before(inst.BotTokenExpiresAt) {
		return inst, nil
	}
	return store.Installation{}, err
}
