package handlers_test

import (
	"context"
	"errors"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/slack-go/slack"

	"github.com/charlize-app/charlize/handlers"
	"github.com/charlize-app/charlize/handlers/app"
	"github.com/charlize-app/charlize/handlers/slackclient"
	"github.com/charlize-app/charlize/handlers/slacktest"
	"github.com/charlize-app/charlize/store"
	"github.com/charlize-app/charlize/store/storetest"
)

const (
	oauthClientID     = "4242.1717"
	oauthClientSecret = "oauth-test-client-secret"
)

// installWorld is the HTTP server in multi-workspace mode: OAuth routes,
// store-backed clients, a fake Slack API, and a store on a manual clock.
type installWorld struct {
	t     *testing.T
	api   *slacktest.API
	store store.Store
	clock *storetest.Clock
	srv   *httptest.Server
	// failDeletes is how many of the app's next DeleteInstallation calls
	// fail as a store outage would.
	failDeletes atomic.Int32
}

// deleteBlinks is the app's store, whose deletes of installations fail
// while w says so.
type deleteBlinks struct {
	store.Store
	w *installWorld
}

func (s deleteBlinks) DeleteInstallation(ctx context.Context, key string) error {
	if s.w.failDeletes.Add(-1) >= 0 {
		return fmt.Errorf("delete installation %s: %w", key, store.ErrUnavailable)
	}
	return s.Store.DeleteInstallation(ctx, key)
}

func newInstallWorld(t *testing.T) *installWorld {
	t.Helper()
	clock := storetest.NewClock(time.Now())
	st, err := store.OpenEmbedded(t.TempDir(), store.EmbeddedOptions{Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	w := &installWorld{t: t, store: st, clock: clock}
	appStore := deleteBlinks{Store: st, w: w}
	api := slacktest.NewAPI(t)
	log := slog.New(slog.DiscardHandler)
	oauth, err := handlers.NewOAuth(handlers.OAuthOptions{
		ClientID: oauthClientID, ClientSecret: oauthClientSecret, APIURL: api.APIURL(), Store: st, Log: log, Now: clock.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	metrics := handlers.NewMetrics(reg)
	d := mustDispatcher(t, app.Options{
		Log: log, Store: appStore, Metrics: metrics, Now: clock.Now,
		Clients: slackclient.NewInstallations(slackclient.InstallationsOptions{
			Store: appStore, APIURL: api.APIURL(), ClientID: oauthClientID, ClientSecret: oauthClientSecret, Log: log, Now: clock.Now,
		}),
	})
	srv := httptest.NewServer(handlers.NewServer(handlers.Config{SigningSecret: secret, OAuth: oauth}, log, st, d, reg, metrics))
	t.Cleanup(func() {
		srv.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = d.Close(ctx)
	})
	w.api, w.srv = api, srv
	return w
}

// browser is an HTTP client with its own cookies.
func browser(t *testing.T) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar}
}

var addToSlackRE = regexp.MustCompile(`id="add-to-slack" href="([^"]+)"`)

// startInstall opens the install page in b and returns the authorize URL
// behind its "Add to Slack" button.
func (w *installWorld) startInstall(b *http.Client) *url.URL {
	w.t.Helper()
	resp, err := b.Get(w.srv.URL + handlers.InstallPath)
	if err != nil {
		w.t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		w.t.Fatalf("GET %s = %d, want 200", handlers.InstallPath, resp.StatusCode)
	}
	m := addToSlackRE.FindSubmatch(body)
	if m == nil {
		w.t.Fatalf("install page has no Add to Slack link:\n%s", body)
	}
	u, err := url.Parse(html.UnescapeString(string(m[1])))
	if err != nil {
		w.t.Fatal(err)
	}
	return u
}

// finish is Slack sending the browser back with query.
func (w *installWorld) finish(b *http.Client, query url.Values) (int, string) {
	w.t.Helper()
	resp, err := b.Get(w.srv.URL + handlers.OAuthRedirectPath + "?" + query.Encode())
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func (w *installWorld) installation(key string) (store.Installation, error) {
	return w.store.Installation(context.Background(), key)
}

func (w *installWorld) mustNotBeInstalled(key string) {
	w.t.Helper()
	if inst, err := w.installation(key); !errors.Is(err, store.ErrNotFound) {
		w.t.Errorf("Installation(%s) = %+v, %v; want nothing stored", key, inst, err)
	}
}

func (w *installWorld) command(team, enterprise, text string) slack.WebhookMessage {
	w.t.Helper()
	form := slacktest.Command(team, alice, text, w.api.ResponseURL("cmd"))
	if enterprise != "" {
		form.Set("enterprise_id", enterprise)
	}
	resp, err := http.DefaultClient.Do(slacktest.FormRequest(w.srv.URL+"/slack/commands", secret, form))
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	rec := httptest.NewRecorder()
	rec.Code = resp.StatusCode
	_, _ = io.Copy(rec.Body, resp.Body)
	return mustDecodeMessage(w.t, rec)
}

func TestInstall(t *testing.T) {
	w := newInstallWorld(t)
	b := browser(t)
	if msg := w.command(slacktest.TeamID, "", "help"); !strings.Contains(msg.Text, "not installed") {
		t.Fatalf("help before install = %q, want not installed", msg.Text)
	}

	authorize := w.startInstall(b)
	q := authorize.Query()
	if authorize.Host != "slack.com" || authorize.Path != "/oauth/v2/authorize" {
		t.Errorf("authorize URL = %s, want https://slack.com/oauth/v2/authorize", authorize)
	}
	wantRedirect := w.srv.URL + handlers.OAuthRedirectPath
	if q.Get("client_id") != oauthClientID || q.Get("scope") != "commands,chat:write,app_mentions:read" ||
		q.Get("redirect_uri") != wantRedirect || len(q.Get("state")) < 32 {
		t.Errorf("authorize query = %v, want client id, default scopes, redirect %s and a long state", q, wantRedirect)
	}
	srvURL, _ := url.Parse(w.srv.URL)
	var cookie *http.Cookie
	for _, c := range b.Jar.Cookies(&url.URL{Scheme: "http", Host: srvURL.Host, Path: "/slack/"}) {
		if c.Name == "charlize_oauth" {
			cookie = c
		}
	}
	if cookie == nil {
		t.Fatal("install page set no state cookie")
	}

	status, page := w.finish(b, url.Values{"code": {"good-code"}, "state": {q.Get("state")}})
	if status != http.StatusOK || !strings.Contains(page, "Charlize is installed in Example Team") || !strings.Contains(page, "/charlize help") {
		t.Fatalf("redirect = %d\n%s\nwant the success page", status, page)
	}
	calls := w.api.Calls("oauth.v2.access")
	if len(calls) != 1 {
		t.Fatalf("oauth.v2.access calls = %d, want 1", len(calls))
	}
	if f := calls[0].Form; f.Get("code") != "good-code" || f.Get("redirect_uri") != wantRedirect || f.Get("client_id") != oauthClientID {
		t.Errorf("oauth.v2.access form = %v", f)
	}
	inst, err := w.installation(store.TeamKey(slacktest.TeamID))
	if err != nil {
		t.Fatal(err)
	}
	now := w.clock.Now()
	if inst.BotToken != slacktest.BotToken || inst.BotUserID != slacktest.BotUserID || inst.TeamName != slacktest.TeamName ||
		inst.InstallerUserID != "U2147483697" || inst.RefreshToken == "" || inst.AppID != slacktest.AppID ||
		strings.Join(inst.Scopes, ",") != "commands,chat:write,app_mentions:read" ||
		!inst.BotTokenExpiresAt.Equal(now.UTC().Add(12*time.Hour)) || !inst.InstalledAt.Equal(now.UTC()) {
		t.Errorf("installation = %+v", inst)
	}
	if msg := w.command(slacktest.TeamID, "", "help"); msg.Blocks == nil || strings.Contains(msg.Text, "not installed") {
		t.Errorf("help after install = %+v, want the help message", msg)
	}
	if msg := w.command("T0OTHER", "", "help"); !strings.Contains(msg.Text, "not installed") {
		t.Errorf("help from another workspace = %q, want not installed", msg.Text)
	}
}

func TestInstallCookieAttributes(t *testing.T) {
	w := newInstallWorld(t)
	resp, err := http.Get(w.srv.URL + handlers.InstallPath)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var c *http.Cookie
	for _, k := range resp.Cookies() {
		if k.Name == "charlize_oauth" {
			c = k
		}
	}
	if c == nil || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.MaxAge != 600 || c.Secure {
		t.Errorf("state cookie = %+v, want HttpOnly, SameSite=Lax, 10 minutes, not Secure over http", c)
	}
	req, _ := http.NewRequest(http.MethodGet, w.srv.URL+handlers.InstallPath, nil)
	req.Header.Set("X-Forwarded-Proto", "https")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for _, k := range resp.Cookies() {
		if k.Name == "charlize_oauth" && !k.Secure {
			t.Error("state cookie behind https is not Secure")
		}
	}
	if got := resp.Header.Get("Referrer-Policy"); got != "no-referrer" {
		t.Errorf("Referrer-Policy = %q", got)
	}
}

// Every misuse of the state value ends on an error page, with no call to
// Slack and nothing stored.
func TestInstallStateMisuse(t *testing.T) {
	key := store.TeamKey(slacktest.TeamID)
	tests := []struct {
		name string
		// query returns the redirect query and the browser that sends it.
		query func(w *installWorld) (*http.Client, url.Values)
	}{
		{"missing", func(w *installWorld) (*http.Client, url.Values) {
			b := browser(t)
			w.startInstall(b)
			return b, url.Values{"code": {"c"}}
		}},
		{"unknown", func(w *installWorld) (*http.Client, url.Values) {
			b := browser(t)
			w.startInstall(b)
			return b, url.Values{"code": {"c"}, "state": {"made-up-state-value-made-up-state-value"}}
		}},
		{"reused", func(w *installWorld) (*http.Client, url.Values) {
			b := browser(t)
			q := url.Values{"code": {"c"}, "state": {w.startInstall(b).Query().Get("state")}}
			if status, page := w.finish(b, q); status != http.StatusOK {
				t.Fatalf("first use = %d\n%s", status, page)
			}
			// Forget the first install so that only the replay could store one.
			if err := w.store.DeleteInstallation(context.Background(), key); err != nil {
				t.Fatal(err)
			}
			return b, q
		}},
		{"expired", func(w *installWorld) (*http.Client, url.Values) {
			b := browser(t)
			state := w.startInstall(b).Query().Get("state")
			w.clock.Advance(handlers.DefaultOAuthStateTTL + time.Second)
			return b, url.Values{"code": {"c"}, "state": {state}}
		}},
		{"other browser's cookie", func(w *installWorld) (*http.Client, url.Values) {
			victim, attacker := browser(t), browser(t)
			w.startInstall(victim)
			state := w.startInstall(attacker).Query().Get("state")
			return victim, url.Values{"code": {"c"}, "state": {state}}
		}},
		{"no cookie", func(w *installWorld) (*http.Client, url.Values) {
			state := w.startInstall(browser(t)).Query().Get("state")
			return &http.Client{}, url.Values{"code": {"c"}, "state": {state}}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newInstallWorld(t)
			b, q := tt.query(w)
			before := len(w.api.Calls("oauth.v2.access"))
			status, page := w.finish(b, q)
			if status != http.StatusBadRequest || !strings.Contains(page, "This install link is not valid") {
				t.Errorf("redirect = %d\n%s\nwant 400 and the invalid link page", status, page)
			}
			if n := len(w.api.Calls("oauth.v2.access")); n != before {
				t.Errorf("oauth.v2.access called %d times for a bad state", n-before)
			}
			w.mustNotBeInstalled(key)
		})
	}
}

// An admin who opens the install page in two tabs of one browser (two
// workspaces, or the page reopened) can finish either, in either order.
func TestInstallFromTwoTabs(t *testing.T) {
	for _, order := range []string{"first tab first", "second tab first"} {
		t.Run(order, func(t *testing.T) {
			w := newInstallWorld(t)
			b := browser(t)
			states := []string{w.startInstall(b).Query().Get("state"), w.startInstall(b).Query().Get("state")}
			if order == "second tab first" {
				states[0], states[1] = states[1], states[0]
			}
			for i, state := range states {
				status, page := w.finish(b, url.Values{"code": {"good-code"}, "state": {state}})
				if status != http.StatusOK || !strings.Contains(page, "Charlize is installed") {
					t.Errorf("install from tab %d = %d\n%s\nwant the success page", i+1, status, page)
				}
				if err := w.store.DeleteInstallation(context.Background(), store.TeamKey(slacktest.TeamID)); err != nil {
					t.Fatal(err)
				}
			}
			if status, _ := w.finish(b, url.Values{"code": {"good-code"}, "state": {states[0]}}); status != http.StatusBadRequest {
				t.Errorf("a state used again = %d, want 400", status)
			}
		})
	}
}

func TestInstallSlackErrors(t *testing.T) {
	key := store.TeamKey(slacktest.TeamID)
	tests := []struct {
		name       string
		fail       string // oauth.v2.access error
		query      url.Values
		wantStatus int
		wantPage   string
	}{
		{"user cancels", "", url.Values{"error": {"access_denied"}}, http.StatusOK, "Installation cancelled"},
		{"invalid code", "invalid_code", url.Values{"code": {"c"}}, http.StatusBadRequest, "invalid_code"},
		{"bad redirect", "bad_redirect_uri", url.Values{"code": {"c"}}, http.StatusBadRequest, "Redirect URLs"},
		{"no code", "", url.Values{}, http.StatusBadRequest, "no authorization code"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newInstallWorld(t)
			b := browser(t)
			tt.query.Set("state", w.startInstall(b).Query().Get("state"))
			if tt.fail != "" {
				w.api.Fail("oauth.v2.access", tt.fail, 1)
			}
			status, page := w.finish(b, tt.query)
			if status != tt.wantStatus || !strings.Contains(page, tt.wantPage) {
				t.Errorf("redirect = %d\n%s\nwant %d and %q", status, page, tt.wantStatus, tt.wantPage)
			}
			w.mustNotBeInstalled(key)
		})
	}
}

// An org-wide Enterprise Grid install serves every workspace of the org.
func TestEnterpriseInstall(t *testing.T) {
	w := newInstallWorld(t)
	w.api.SetOAuthAccess(`{"ok": true, "access_token": "xoxb-org-token", "token_type": "bot",
		"scope": "commands,chat:write", "bot_user_id": "U0ORGBOT", "app_id": "A0KRD7HC3",
		"team": null, "enterprise": {"name": "Example Org", "id": "E0001"}, "is_enterprise_install": true,
		"authed_user": {"id": "U0ADMIN", "scope": "", "token_type": "user"}}`)
	b := browser(t)
	status, page := w.finish(b, url.Values{"code": {"c"}, "state": {w.startInstall(b).Query().Get("state")}})
	if status != http.StatusOK || !strings.Contains(page, "Example Org") {
		t.Fatalf("redirect = %d\n%s", status, page)
	}
	inst, err := w.installation(store.EnterpriseKey("E0001"))
	if err != nil || !inst.IsEnterpriseInstall || inst.BotToken != "xoxb-org-token" || !inst.BotTokenExpiresAt.IsZero() {
		t.Fatalf("installation = %+v, %v", inst, err)
	}
	if msg := w.command("T0ANYWS", "E0001", "help"); strings.Contains(msg.Text, "not installed") {
		t.Errorf("help from a workspace of the org = %q, want help", msg.Text)
	}
	if msg := w.command("T0ANYWS", "E0OTHER", "help"); !strings.Contains(msg.Text, "not installed") {
		t.Errorf("help from another org = %q, want not installed", msg.Text)
	}

	// Uninstalled from the org: Slack says the install was org-wide.
	body := `{"token":"x","team_id":"T0ANYWS","enterprise_id":"E0001","api_app_id":"A0KRD7HC3","type":"event_callback",
		"event_id":"EvORG1","event_time":1700000000,"event":{"type":"app_uninstalled"},
		"authorizations":[{"enterprise_id":"E0001","team_id":null,"user_id":"U0ORGBOT","is_bot":true,"is_enterprise_install":true}]}`
	resp, err := http.DefaultClient.Do(slacktest.JSONRequest(w.srv.URL+"/slack/events", secret, []byte(body)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	w.mustNotBeInstalled(store.EnterpriseKey("E0001"))
	if msg := w.command("T0ANYWS", "E0001", "help"); !strings.Contains(msg.Text, "not installed") {
		t.Errorf("help after the org uninstalled = %q, want not installed", msg.Text)
	}
}

// tokens_revoked removes the installation only when our bot's token is
// among those revoked; app_uninstalled always does.
func TestUninstallEvents(t *testing.T) {
	w := newInstallWorld(t)
	key := store.TeamKey(slacktest.TeamID)
	install := func() {
		b := browser(t)
		if status, page := w.finish(b, url.Values{"code": {"c"}, "state": {w.startInstall(b).Query().Get("state")}}); status != http.StatusOK {
			t.Fatalf("install = %d\n%s", status, page)
		}
	}
	send := func(body string) {
		resp, err := http.DefaultClient.Do(slacktest.JSONRequest(w.srv.URL+"/slack/events", secret, []byte(body)))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("event = %d", resp.StatusCode)
		}
	}
	install()
	send(`{"token":"x","team_id":"T0001","api_app_id":"A0KRD7HC3","type":"event_callback","event_id":"EvR1","event_time":1700000000,
		"event":{"type":"tokens_revoked","tokens":{"oauth":["U2147483697"],"bot":["U0SOMEONEELSE"]}}}`)
	if _, err := w.installation(key); err != nil {
		t.Fatalf("installation after another bot's revocation: %v, want kept", err)
	}
	send(`{"token":"x","team_id":"T0001","api_app_id":"A0KRD7HC3","type":"event_callback","event_id":"EvR2","event_time":1700000000,
		"event":{"type":"tokens_revoked","tokens":{"oauth":[],"bot":["` + slacktest.BotUserID + `"]}}}`)
	w.mustNotBeInstalled(key)
	if msg := w.command(slacktest.TeamID, "", "help"); !strings.Contains(msg.Text, "not installed") {
		t.Errorf("help after tokens_revoked = %q, want not installed", msg.Text)
	}

	install()
	send(`{"token":"x","team_id":"T0001","api_app_id":"A0KRD7HC3","type":"event_callback","event_id":"EvU1","event_time":1700000000,
		"event":{"type":"app_uninstalled"}}`)
	w.mustNotBeInstalled(key)
}

// An uninstall that the store failed to carry out is not acknowledged:
// Slack delivers it again (up to 3 times), and the retry deletes the
// token instead of being ignored as a duplicate.
func TestUninstallRetriedAfterStoreOutage(t *testing.T) {
	for name, ev := range map[string]string{
		"app_uninstalled": `{"type":"app_uninstalled"}`,
		"tokens_revoked":  `{"type":"tokens_revoked","tokens":{"oauth":[],"bot":["` + slacktest.BotUserID + `"]}}`,
	} {
		t.Run(name, func(t *testing.T) {
			w := newInstallWorld(t)
			key := store.TeamKey(slacktest.TeamID)
			b := browser(t)
			if status, page := w.finish(b, url.Values{"code": {"c"}, "state": {w.startInstall(b).Query().Get("state")}}); status != http.StatusOK {
				t.Fatalf("install = %d\n%s", status, page)
			}
			body := []byte(`{"token":"x","team_id":"T0001","api_app_id":"A0KRD7HC3","type":"event_callback","event_id":"EvBLIP",` +
				`"event_time":1700000000,"event":` + ev + `}`)
			deliver := func(retry int) int {
				r := slacktest.JSONRequest(w.srv.URL+"/slack/events", secret, body)
				if retry > 0 {
					r.Header.Set("X-Slack-Retry-Num", fmt.Sprint(retry))
					r.Header.Set("X-Slack-Retry-Reason", "http_error")
				}
				resp, err := http.DefaultClient.Do(r)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				return resp.StatusCode
			}
			w.failDeletes.Store(1)
			if status := deliver(0); status != http.StatusServiceUnavailable {
				t.Errorf("delivery the store failed = %d, want 503 for Slack to deliver it again", status)
			}
			if _, err := w.installation(key); err != nil {
				t.Fatalf("installation after the failed delete: %v, want still there", err)
			}
			if status := deliver(1); status != http.StatusOK {
				t.Errorf("Slack's retry = %d, want 200", status)
			}
			w.mustNotBeInstalled(key)
			if status := deliver(2); status != http.StatusOK {
				t.Errorf("a retry after it was handled = %d, want 200 (acknowledged only)", status)
			}
		})
	}
}
