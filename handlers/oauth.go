package handlers

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/slack-go/slack"

	"github.com/charlize-app/charlize/handlers/htmlpage"
	"github.com/charlize-app/charlize/handlers/slackclient"
	"github.com/charlize-app/charlize/store"
	"github.com/charlize-app/charlize/templates"
)

// Paths of the browser-facing install routes (not signed by Slack).
const (
	InstallPath       = "/slack/install"
	OAuthRedirectPath = "/slack/oauth_redirect"
)

// DefaultOAuthStateTTL is how long an "Add to Slack" link stays usable.
const DefaultOAuthStateTTL = 10 * time.Minute

// slackAuthorizeURL is where "Add to Slack" sends the browser.
const slackAuthorizeURL = "https://slack.com/oauth/v2/authorize"

// oauthCookie binds a state value to the browser that asked for it.
const oauthCookie = "charlize_oauth"

// OAuthOptions configure multi-workspace installation ("Add to Slack").
type OAuthOptions struct {
	ClientID, ClientSecret string
	Scopes                 []string
	// RedirectURL is where Slack sends the browser back; empty derives it
	// from the install request (scheme and host) + OAuthRedirectPath.
	RedirectURL string
	// APIURL is Slack's Web API base (oauth.v2.access is called there).
	APIURL     string
	Store      store.Store
	HTTPClient *http.Client
	Log        *slog.Logger
	Now        func() time.Time
	StateTTL   time.Duration // default DefaultOAuthStateTTL
	// SlashCommand is shown on the success page (default /charlize).
	SlashCommand string
}

// OAuth serves the install page and Slack's OAuth v2 redirect, and stores
// the installations they produce.
type OAuth struct {
	o     OAuthOptions
	pages map[string]*htmlpage.Page // install.html, installed.html, failed.html
}

// NewOAuth checks o and parses the pages.
func NewOAuth(o OAuthOptions) (*OAuth, error) {
	if o.ClientID == "" || o.ClientSecret == "" || o.Store == nil || o.APIURL == "" {
		return nil, errors.New("handlers.NewOAuth: client id, client secret, store and API URL are required")
	}
	if len(o.Scopes) == 0 {
		o.Scopes = []string{"commands", "chat:write", "app_mentions:read"}
	}
	o.HTTPClient, o.Log, o.Now = slackclient.Defaults(o.HTTPClient, o.Log, o.Now)
	o.StateTTL = cmp.Or(o.StateTTL, DefaultOAuthStateTTL)
	if o.SlashCommand == "" {
		o.SlashCommand = "/charlize"
	}
	pages := map[string]*htmlpage.Page{}
	for _, name := range []string{"install.html", "installed.html", "failed.html"} {
		p, err := htmlpage.Load(templates.FS, "layout.html", name)
		if err != nil {
			return nil, fmt.Errorf("handlers.NewOAuth: %w", err)
		}
		pages[name] = p
	}
	return &OAuth{o: o, pages: pages}, nil
}

// oauthState is what the store keeps under a state value until the
// browser comes back with it.
type oauthState struct {
	// BrowserHash is SHA-256 of the cookie value set with this state.
	BrowserHash string `json:"browser_hash"`
	RedirectURI string `json:"redirect_uri"`
}

// Install renders the "Add to Slack" page with a fresh state value, bound
// to this browser with a cookie. A browser that already has the cookie
// keeps its value, so that an install page open in another tab still
// works.
func (a *OAuth) Install(c echo.Context) error {
	ctx := c.Request().Context()
	state, err := randomToken()
	if err != nil {
		return err
	}
	browser, err := browserID(c)
	if err != nil {
		return err
	}
	redirect := a.redirectURI(c)
	data, _ := json.Marshal(oauthState{BrowserHash: hashHex(browser), RedirectURI: redirect})
	if err := a.o.Store.PutOAuthState(ctx, state, data, a.o.StateTTL); err != nil {
		return fmt.Errorf("install: save state: %w", err)
	}
	c.SetCookie(&http.Cookie{
		Name:     oauthCookie,
		Value:    browser,
		Path:     "/slack/",
		MaxAge:   int(a.o.StateTTL / time.Second),
		HttpOnly: true,
		Secure:   c.Scheme() == "https",
		SameSite: http.SameSiteLaxMode,
	})
	q := url.Values{
		"client_id":    {a.o.ClientID},
		"scope":        {strings.Join(a.o.Scopes, ",")},
		"redirect_uri": {redirect},
		"state":        {state},
	}
	return a.render(c, http.StatusOK, "install.html", "Install", htmlpage.Values{
		"SlashCommand": a.o.SlashCommand,
		"AuthorizeURL": slackAuthorizeURL + "?" + q.Encode(),
		"ValidFor":     humanDuration(a.o.StateTTL),
		"Scopes":       a.o.Scopes,
	})
}

// Redirect finishes an installation: it checks the state against the
// store and the browser's cookie, exchanges the code with oauth.v2.access
// and stores the installation. Any failure renders an error page and
// stores nothing.
func (a *OAuth) Redirect(c echo.Context) error {
	ctx := c.Request().Context()
	q := c.QueryParams()
	// The cookie stays: it only names the browser, another tab's install
	// may still need it, and each state works once whatever it says.
	st, problem := a.checkState(ctx, c, q.Get("state"))
	if slackErr := q.Get("error"); slackErr != "" {
		a.o.Log.InfoContext(ctx, "install cancelled in Slack", "request_id", requestID(c), "slack_error", slackErr)
		if slackErr == "access_denied" {
			return a.fail(c, http.StatusOK, "Installation cancelled", "Charlize was not installed: the permission request was declined.", "")
		}
		return a.fail(c, http.StatusBadRequest, "Installation failed", "Slack did not complete the installation.", slackErr)
	}
	if problem != "" {
		a.o.Log.WarnContext(ctx, "install refused", "request_id", requestID(c), "reason", problem)
		return a.fail(c, http.StatusBadRequest, "This install link is not valid",
			"The link has expired, was already used, or was started in another browser. Start again from the install page; it works once, for "+humanDuration(a.o.StateTTL)+".", "")
	}
	code := q.Get("code")
	if code == "" {
		return a.fail(c, http.StatusBadRequest, "Installation failed", "Slack sent no authorization code.", "")
	}
	resp, err := slack.GetOAuthV2ResponseContext(ctx, a.o.HTTPClient, a.o.ClientID, a.o.ClientSecret, code, st.RedirectURI,
		slack.OAuthOptionAPIURL(a.o.APIURL))
	if err != nil {
		code := slackclient.ErrorCode(err)
		a.o.Log.WarnContext(ctx, "oauth.v2.access failed", "request_id", requestID(c), "slack_error", code, "err", err)
		if code == "" {
			return a.fail(c, http.StatusBadGateway, "Installation failed", "Charlize could not reach Slack to finish the installation. Try again in a minute.", "")
		}
		return a.fail(c, http.StatusBadRequest, "Installation failed", installErrorText(code), code)
	}
	inst, err := installationFrom(resp, a.o.Now())
	if err != nil {
		a.o.Log.WarnContext(ctx, "unusable oauth.v2.access answer", "request_id", requestID(c), "err", err)
		return a.fail(c, http.StatusBadGateway, "Installation failed", "Slack's answer did not include a bot token. Check the app's bot scopes and try again.", "")
	}
	if err := a.o.Store.SaveInstallation(ctx, inst); err != nil {
		return fmt.Errorf("install: save installation %s: %w", inst.Key, err)
	}
	a.o.Log.InfoContext(ctx, "installed", "request_id", requestID(c), "installation", inst.Key, "team", inst.TeamID,
		"enterprise", inst.EnterpriseID, "installer", inst.InstallerUserID, "scopes", strings.Join(inst.Scopes, ","),
		"token_rotation", inst.RefreshToken != "")
	name := inst.TeamName
	if inst.IsEnterpriseInstall {
		name = resp.Enterprise.Name
	}
	open := ""
	if inst.AppID != "" && inst.TeamID != "" {
		open = "https://slack.com/app_redirect?" + url.Values{"app": {inst.AppID}, "team": {inst.TeamID}}.Encode()
	}
	heading := "Charlize is installed"
	if name != "" {
		heading += " in " + name
	}
	return a.render(c, http.StatusOK, "installed.html", "Installed", htmlpage.Values{
		"Heading": heading, "SlashCommand": a.o.SlashCommand, "HelpCommand": a.o.SlashCommand + " help", "OpenURL": open,
	})
}

// checkState consumes state (single use) and checks it belongs to this
// browser; problem is a log reason, "" when all is well.
func (a *OAuth) checkState(ctx context.Context, c echo.Context, state string) (oauthState, string) {
	var st oauthState
	if state == "" {
		return st, "missing state"
	}
	data, err := a.o.Store.ConsumeOAuthState(ctx, state)
	if errors.Is(err, store.ErrNotFound) {
		return st, "unknown, used or expired state"
	}
	if err != nil {
		return st, "state lookup failed: " + err.Error()
	}
	if err := json.Unmarshal(data, &st); err != nil {
		return st, "malformed state"
	}
	cookie, err := c.Cookie(oauthCookie)
	if err != nil || cookie.Value == "" {
		return st, "no state cookie"
	}
	if subtle.ConstantTimeCompare([]byte(hashHex(cookie.Value)), []byte(st.BrowserHash)) != 1 {
		return st, "state cookie mismatch"
	}
	return st, ""
}

// installationFrom turns Slack's answer into an installation: org-wide
// Enterprise Grid installs are keyed by enterprise, others by team.
func installationFrom(resp *slack.OAuthV2Response, now time.Time) (store.Installation, error) {
	if resp.AccessToken == "" || (resp.TokenType != "" && resp.TokenType != "bot") {
		return store.Installation{}, errors.New("no bot token in oauth.v2.access answer")
	}
	inst := store.Installation{
		TeamID:              resp.Team.ID,
		TeamName:            resp.Team.Name,
		EnterpriseID:        resp.Enterprise.ID,
		IsEnterpriseInstall: resp.IsEnterpriseInstall,
		AppID:               resp.AppID,
		BotUserID:           resp.BotUserID,
		BotToken:            resp.AccessToken,
		RefreshToken:        resp.RefreshToken,
		Scopes:              splitScopes(resp.Scope),
		InstallerUserID:     resp.AuthedUser.ID,
		InstalledAt:         now.UTC(),
	}
	switch {
	case resp.IsEnterpriseInstall && resp.Enterprise.ID != "":
		inst.Key = store.EnterpriseKey(resp.Enterprise.ID)
	case resp.Team.ID != "":
		inst.Key = store.TeamKey(resp.Team.ID)
	default:
		return store.Installation{}, errors.New("no team or enterprise in oauth.v2.access answer")
	}
	if resp.ExpiresIn > 0 {
		inst.BotTokenExpiresAt = now.UTC().Add(time.Duration(resp.ExpiresIn) * time.Second)
	}
	return inst, nil
}

func splitScopes(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// installErrorText words oauth.v2.access errors for the person installing.
func installErrorText(code string) string {
	switch code {
	case "invalid_code", "code_already_used", "code_expired":
		return "The authorization code from Slack was not accepted (it may have been used already). Start the installation again."
	case "bad_redirect_uri", "redirect_uri_mismatch":
		return "The redirect URL does not match the app's settings. The operator should add it under OAuth & Permissions → Redirect URLs (or set SLACK_REDIRECT_URL)."
	case "invalid_client_id", "bad_client_secret", "invalid_client":
		return "Charlize's Slack app credentials are wrong. The operator should check SLACK_CLIENT_ID and SLACK_CLIENT_SECRET."
	}
	return "Slack refused to finish the installation."
}

// redirectURI is the configured redirect URL, or this server's own.
func (a *OAuth) redirectURI(c echo.Context) string {
	if a.o.RedirectURL != "" {
		return a.o.RedirectURL
	}
	return c.Scheme() + "://" + c.Request().Host + OAuthRedirectPath
}

func (a *OAuth) fail(c echo.Context, status int, title, msg, code string) error {
	return a.render(c, status, "failed.html", title, htmlpage.Values{
		"Heading": title, "Message": msg, "Code": code, "InstallPath": InstallPath,
	})
}

// render writes a page with headers that keep it out of caches and frames
// and keep the OAuth code out of Referer headers.
func (a *OAuth) render(c echo.Context, status int, name, title string, v htmlpage.Values) error {
	v["Title"] = title + " · Charlize"
	var buf bytes.Buffer
	if err := a.pages[name].Render(&buf, v); err != nil {
		return fmt.Errorf("render %s: %w", name, err)
	}
	h := c.Response().Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src https://platform.slack-edge.com; frame-ancestors 'none'")
	return c.HTMLBlob(status, buf.Bytes())
}

func randomToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("random: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// browserID is the value of this browser's install cookie, or a new one
// when it has none (or one no Install could have set).
func browserID(c echo.Context) (string, error) {
	if cookie, err := c.Cookie(oauthCookie); err == nil {
		if b, err := base64.RawURLEncoding.DecodeString(cookie.Value); err == nil && len(b) == 32 {
			return cookie.Value, nil
		}
	}
	return randomToken()
}

func hashHex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return fmt.Sprintf("%x", sum)
}

// humanDuration words d for a page: "10 minutes", else Go's form.
func humanDuration(d time.Duration) string {
	switch {
	case d == time.Minute:
		return "1 minute"
	case d > 0 && d%time.Minute == 0:
		return fmt.Sprintf("%d minutes", d/time.Minute)
	}
	return d.String()
}
