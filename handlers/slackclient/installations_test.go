package slackclient_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/slack-go/slack"

	"github.com/charlize-app/charlize/handlers/reqctx"
	"github.com/charlize-app/charlize/handlers/slackclient"
	"github.com/charlize-app/charlize/handlers/slacktest"
	"github.com/charlize-app/charlize/store"
	"github.com/charlize-app/charlize/store/storetest"
)

// channel is where the tests post.
const (
	channel           = "C2147483705"
	oauthClientID     = "4242.1717"
	oauthClientSecret = "oauth-test-client-secret"
)

const refreshedAnswer = `{"ok": true, "access_token": "xoxb-refreshed", "token_type": "bot",
	"scope": "commands,chat:write,app_mentions:read", "bot_user_id": "U0KRQLJ9H", "app_id": "A0KRD7HC3",
	"team": {"name": "Example Team", "id": "T0001"}, "enterprise": null, "is_enterprise_install": false,
	"expires_in": 43200, "refresh_token": "xoxe-1-next"}`

// postWith posts through api and returns the token the fake saw.
func postWith(t *testing.T, fake *slacktest.API, api slackclient.API) string {
	t.Helper()
	before := len(fake.Calls("chat.postMessage"))
	if _, _, err := api.PostMessageContext(context.Background(), channel, slack.MsgOptionText("hi", false)); err != nil {
		t.Fatal(err)
	}
	return fake.Calls("chat.postMessage")[before].Token
}

func rotatingInstallation(expiresAt time.Time) store.Installation {
	return store.Installation{
		Key: store.TeamKey(slacktest.TeamID), TeamID: slacktest.TeamID, BotUserID: slacktest.BotUserID,
		BotToken: "xoxb-old", RefreshToken: "xoxe-1-old", BotTokenExpiresAt: expiresAt, InstalledAt: expiresAt.Add(-12 * time.Hour),
	}
}

func TestInstallationsClient(t *testing.T) {
	ctx := context.Background()
	fake := slacktest.NewAPI(t)
	st := openStore(t, false)
	inst := slackclient.NewInstallations(slackclient.InstallationsOptions{Store: st, APIURL: fake.APIURL()})
	if _, err := inst.Client(ctx, slackclient.Team{ID: "T0NONE"}); !errors.Is(err, slackclient.ErrNotInstalled) {
		t.Fatalf("Client(no installation) = %v, want ErrNotInstalled", err)
	}
	team := store.Installation{Key: store.TeamKey("T0001"), TeamID: "T0001", BotToken: "xoxb-team"}
	org := store.Installation{Key: store.EnterpriseKey("E0001"), EnterpriseID: "E0001", IsEnterpriseInstall: true, BotToken: "xoxb-org"}
	for _, i := range []store.Installation{team, org} {
		if err := st.SaveInstallation(ctx, i); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		team slackclient.Team
		want string
	}{
		{slackclient.Team{ID: "T0001"}, "xoxb-team"},
		{slackclient.Team{ID: "T0001", EnterpriseID: "E0001"}, "xoxb-team"}, // the workspace's own first
		{slackclient.Team{ID: "T0002", EnterpriseID: "E0001"}, "xoxb-org"},
	}
	for _, tt := range tests {
		api, err := inst.Client(ctx, tt.team)
		if err != nil {
			t.Fatalf("Client(%+v) = %v", tt.team, err)
		}
		if got := postWith(t, fake, api); got != tt.want {
			t.Errorf("Client(%+v) posts with %q, want %q", tt.team, got, tt.want)
		}
	}
	if fake.Calls("oauth.v2.access") != nil {
		t.Error("tokens without expiry were refreshed")
	}
}

// A token close to expiry is refreshed once, however many replicas ask
// for it at the same moment; the new token and refresh token are saved.
func TestTokenRefreshOnceAcrossReplicas(t *testing.T) {
	for _, tc := range []struct {
		name    string
		expires time.Duration // from now
	}{
		{"about to expire", 2 * time.Minute}, // losers may still use the old token
		{"expired", -time.Minute},            // losers wait for the winner's token
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			fake := slacktest.NewAPI(t)
			fake.SetOAuthAccess(refreshedAnswer)
			st := openStore(t, true) // Redis (miniredis): shared by every "replica"
			clock := storetest.NewClock(time.Now())
			if err := st.SaveInstallation(ctx, rotatingInstallation(clock.Now().Add(tc.expires))); err != nil {
				t.Fatal(err)
			}
			const replicas = 8
			var wg sync.WaitGroup
			tokens := make([]string, replicas)
			errs := make([]error, replicas)
			start := make(chan struct{})
			for r := range replicas {
				replica := slackclient.NewInstallations(slackclient.InstallationsOptions{
					Store: st, APIURL: fake.APIURL(), ClientID: oauthClientID, ClientSecret: oauthClientSecret,
					Now: clock.Now, Holder: fmt.Sprintf("replica-%d", r),
				})
				wg.Go(func() {
					<-start
					api, err := replica.Client(ctx, slackclient.Team{ID: slacktest.TeamID})
					if err != nil {
						errs[r] = err
						return
					}
					tokens[r] = postWith(t, fake, api)
				})
			}
			close(start)
			wg.Wait()
			for r, err := range errs {
				if err != nil {
					t.Fatalf("replica %d: %v", r, err)
				}
			}
			calls := fake.Calls("oauth.v2.access")
			if len(calls) != 1 {
				t.Fatalf("oauth.v2.access calls = %d, want 1", len(calls))
			}
			if f := calls[0].Form; f.Get("grant_type") != "refresh_token" || f.Get("refresh_token") != "xoxe-1-old" || f.Get("client_id") != oauthClientID {
				t.Errorf("refresh form = %v", f)
			}
			for r, tok := range tokens {
				if tok != "xoxb-refreshed" && (tc.expires < 0 || tok != "xoxb-old") {
					t.Errorf("replica %d posted with %q", r, tok)
				}
			}
			saved, err := st.Installation(ctx, store.TeamKey(slacktest.TeamID))
			if err != nil || saved.BotToken != "xoxb-refreshed" || saved.RefreshToken != "xoxe-1-next" ||
				!saved.BotTokenExpiresAt.Equal(clock.Now().UTC().Add(12*time.Hour)) {
				t.Errorf("saved after refresh = %+v, %v", saved, err)
			}
			// Fresh now: no further refresh.
			again := slackclient.NewInstallations(slackclient.InstallationsOptions{Store: st, APIURL: fake.APIURL(), Now: clock.Now})
			if _, err := again.Client(ctx, slackclient.Team{ID: slacktest.TeamID}); err != nil {
				t.Fatal(err)
			}
			if n := len(fake.Calls("oauth.v2.access")); n != 1 {
				t.Errorf("oauth.v2.access calls after refresh = %d, want still 1", n)
			}
		})
	}
}

// A failed refresh keeps a still-valid token working, and refuses an
// expired one.
func TestTokenRefreshFailure(t *testing.T) {
	ctx := context.Background()
	fake := slacktest.NewAPI(t)
	st := openStore(t, false)
	clock := storetest.NewClock(time.Now())
	inst := slackclient.NewInstallations(slackclient.InstallationsOptions{
		Store: st, APIURL: fake.APIURL(), ClientID: oauthClientID, ClientSecret: oauthClientSecret, Now: clock.Now,
	})
	if err := st.SaveInstallation(ctx, rotatingInstallation(clock.Now().Add(time.Minute))); err != nil {
		t.Fatal(err)
	}
	fake.Fail("oauth.v2.access", "invalid_refresh_token", 2)
	api, err := inst.Client(ctx, slackclient.Team{ID: slacktest.TeamID})
	if err != nil {
		t.Fatalf("Client with a valid token and a failing refresh = %v", err)
	}
	if got := postWith(t, fake, api); got != "xoxb-old" {
		t.Errorf("posted with %q, want the old token", got)
	}
	clock.Advance(2 * time.Minute)
	if _, err := inst.Client(ctx, slackclient.Team{ID: slacktest.TeamID}); err == nil {
		t.Error("Client with an expired token and a failing refresh succeeded")
	}
}

// openStore is an embedded store in a temporary folder, or a Redis store
// on miniredis (shared by every "replica" of a test).
func openStore(t *testing.T, redis bool) store.Store {
	t.Helper()
	var s store.Store
	var err error
	if redis {
		s, err = store.OpenRedis("redis://"+miniredis.RunT(t).Addr(), store.RedisOptions{})
	} else {
		s, err = store.OpenEmbedded(t.TempDir(), store.EmbeddedOptions{})
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// countingStore counts installation reads.
type countingStore struct {
	store.Store
	reads atomic.Int32
}

func (c *countingStore) Installation(ctx context.Context, key string) (store.Installation, error) {
	c.reads.Add(1)
	return c.Store.Installation(ctx, key)
}

// A request reads (and decrypts) its workspace's installation once, however
// often its flow asks for the client, and clients are reused.
func TestInstallationReadOncePerRequest(t *testing.T) {
	st := &countingStore{Store: openStore(t, false)}
	if err := st.SaveInstallation(t.Context(), store.Installation{Key: store.TeamKey("T0001"), TeamID: "T0001", BotToken: "xoxb-team"}); err != nil {
		t.Fatal(err)
	}
	inst := slackclient.NewInstallations(slackclient.InstallationsOptions{Store: st, APIURL: "http://127.0.0.1:1/api/"})
	team := slackclient.Team{ID: "T0001"}
	ctx, _ := reqctx.New(t.Context(), "req-1", time.Now())
	if err := inst.Installed(ctx, team); err != nil {
		t.Fatal(err)
	}
	a, err := inst.Client(ctx, team)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := inst.Client(ctx, team)
	if n := st.reads.Load(); n != 1 {
		t.Errorf("one request read the installation %d times, want 1", n)
	}
	other, _ := reqctx.New(t.Context(), "req-2", time.Now())
	c, _ := inst.Client(other, team)
	if n := st.reads.Load(); n != 2 {
		t.Errorf("a second request read it %d times in all, want 2 (one each)", n)
	}
	if a != b || b != c {
		t.Errorf("clients for one token were built anew")
	}
}
