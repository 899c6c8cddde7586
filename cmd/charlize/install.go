package main

import (
	"context"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/charlize-app/charlize/handlers"
	"github.com/charlize-app/charlize/handlers/app"
	"github.com/charlize-app/charlize/store"
	"github.com/charlize-app/charlize/store/sealed"
)

// defaultScopes are the bot scopes Charlize needs: its slash command,
// posting, hearing mentions, and uploading the instance card's graph.
const defaultScopes = "commands,chat:write,app_mentions:read,files:write"

// installConfig is how Charlize is installed: the variables of
// multi-workspace OAuth, token encryption and Socket Mode.
type installConfig struct {
	ClientID, ClientSecret string
	Scopes                 []string
	// RedirectURL is SLACK_REDIRECT_URL; empty means derived from the
	// install request's host.
	RedirectURL string
	// EncryptionKey seals tokens at rest; OldEncryptionKeys still open
	// tokens sealed before a key rotation.
	EncryptionKey     []byte
	OldEncryptionKeys [][]byte
	// AppToken (xapp-…) turns on Socket Mode.
	AppToken string
}

// multiWorkspace reports whether installations come from "Add to Slack":
// OAuth credentials are set and no single bot token is.
func (c config) multiWorkspace() bool {
	return c.BotToken == "" && c.ClientID != "" && c.ClientSecret != ""
}

// loadInstallConfig reads the installation variables into c, reporting
// problems through bad.
func loadInstallConfig(getenv func(string) string, c *config, bad func(name, format string, args ...any)) {
	c.ClientID = strings.TrimSpace(getenv("SLACK_CLIENT_ID"))
	c.ClientSecret = getenv("SLACK_CLIENT_SECRET")
	c.RedirectURL = getenv("SLACK_REDIRECT_URL")
	c.AppToken = getenv("SLACK_APP_TOKEN")

	scopes, err := parseScopes(getenv("SLACK_SCOPES"))
	if err != nil {
		bad("SLACK_SCOPES", "%v", err)
	}
	c.Scopes = scopes
	if (c.ClientID == "") != (c.ClientSecret == "") {
		bad("SLACK_CLIENT_ID", "SLACK_CLIENT_ID and SLACK_CLIENT_SECRET go together (app settings → Basic Information → App Credentials)")
	}
	if c.RedirectURL != "" {
		if u, err := url.Parse(c.RedirectURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("SLACK_REDIRECT_URL", "must be an http(s) URL ending in /slack/oauth_redirect")
		}
	}
	if c.AppToken != "" && !strings.HasPrefix(c.AppToken, "xapp-") {
		bad("SLACK_APP_TOKEN", "must be an app-level token starting with xapp- (app settings → Basic Information → App-Level Tokens, scope connections:write)")
	}
	if raw := getenv("CHARLIZE_ENCRYPTION_KEY"); raw != "" {
		key, err := parseKey(raw)
		if err != nil {
			bad("CHARLIZE_ENCRYPTION_KEY", "%v", err)
		}
		c.EncryptionKey = key
	}
	for i, raw := range strings.Split(getenv("CHARLIZE_ENCRYPTION_OLD_KEYS"), ",") {
		if raw = strings.TrimSpace(raw); raw == "" {
			continue
		}
		key, err := parseKey(raw)
		if err != nil {
			bad("CHARLIZE_ENCRYPTION_OLD_KEYS", "key %d: %v", i+1, err)
			continue
		}
		c.OldEncryptionKeys = append(c.OldEncryptionKeys, key)
	}
	if len(c.OldEncryptionKeys) > 0 && c.EncryptionKey == nil {
		bad("CHARLIZE_ENCRYPTION_OLD_KEYS", "set only beside CHARLIZE_ENCRYPTION_KEY (the key new tokens are sealed with)")
	}
	if c.multiWorkspace() && c.EncryptionKey == nil {
		bad("CHARLIZE_ENCRYPTION_KEY", "required with SLACK_CLIENT_ID: installation tokens are encrypted at rest (generate one with: openssl rand -base64 32)")
	}
}

// parseScopes splits a comma list of bot scopes; empty means the default.
func parseScopes(raw string) ([]string, error) {
	if strings.TrimSpace(raw) == "" {
		raw = defaultScopes
	}
	var scopes []string
	for _, s := range strings.Split(raw, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if strings.ContainsAny(s, " \t&=?#") {
			return nil, fmt.Errorf("%q is not a scope name", s)
		}
		scopes = append(scopes, s)
	}
	return scopes, nil
}

// parseKey decodes a base64 (standard or URL alphabet, padded or not)
// AES-256 key. Errors never repeat the value.
func parseKey(raw string) ([]byte, error) {
	raw = strings.TrimSpace(raw)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if key, err := enc.DecodeString(raw); err == nil {
			if len(key) != 32 {
				return nil, fmt.Errorf("must be 32 bytes (base64), got %d bytes; generate one with: openssl rand -base64 32", len(key))
			}
			return key, nil
		}
	}
	return nil, fmt.Errorf("must be base64 of 32 random bytes; generate one with: openssl rand -base64 32")
}

// sealStore wraps st so tokens are encrypted at rest, when a key is set.
func sealStore(cfg config, st store.Store) (store.Store, error) {
	if cfg.EncryptionKey == nil {
		return st, nil
	}
	s, err := sealed.New(st, cfg.EncryptionKey, cfg.OldEncryptionKeys...)
	if err != nil {
		return nil, fmt.Errorf("CHARLIZE_ENCRYPTION_KEY: %w", err)
	}
	return s, nil
}

// newOAuth serves "Add to Slack" in multi-workspace mode; nil otherwise.
func newOAuth(cfg config, st store.Store, log *slog.Logger, hc *http.Client) (*handlers.OAuth, error) {
	if !cfg.multiWorkspace() {
		return nil, nil
	}
	return handlers.NewOAuth(handlers.OAuthOptions{
		ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret, Scopes: cfg.Scopes, RedirectURL: cfg.RedirectURL,
		APIURL: cfg.SlackAPIURL, Store: st, Log: log, HTTPClient: hc,
	})
}

// logInstallMode says how Slack reaches this Charlize and whose tokens it uses.
func logInstallMode(cfg config, log *slog.Logger) {
	mode := "single-workspace"
	switch {
	case cfg.multiWorkspace():
		mode = "multi-workspace"
	case cfg.BotToken == "":
		mode = "not installed (set SLACK_BOT_TOKEN, or SLACK_CLIENT_ID and SLACK_CLIENT_SECRET)"
	}
	if cfg.BotToken != "" && cfg.ClientID != "" {
		log.Warn("SLACK_BOT_TOKEN is set, so SLACK_CLIENT_ID/SLACK_CLIENT_SECRET are ignored: single-workspace mode, no /slack/install")
	}
	log.Info("slack installation", "mode", mode, "socket_mode", cfg.AppToken != "", "tokens_encrypted", cfg.EncryptionKey != nil)
}

// startSocketMode connects over Socket Mode when SLACK_APP_TOKEN is set;
// the returned channel closes once the connection has stopped after ctx
// ends (at once when Socket Mode is off).
func startSocketMode(ctx context.Context, cfg config, log *slog.Logger, d *app.Dispatcher, m *handlers.Metrics, hc *http.Client) <-chan struct{} {
	done := make(chan struct{})
	if cfg.AppToken == "" {
		close(done)
		return done
	}
	sm := handlers.NewSocketMode(handlers.SocketModeOptions{
		AppToken: cfg.AppToken, APIURL: cfg.SlackAPIURL, HTTPClient: hc, Dispatcher: d, Log: log, Metrics: m,
	})
	go func() {
		defer close(done)
		_ = sm.Run(ctx)
	}()
	return done
}
