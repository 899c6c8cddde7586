package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/charlize-app/charlize/handlers/slacktest"
)

// runManifest runs "charlize manifest args…" and parses its YAML.
func runManifest(t *testing.T, env map[string]string, args ...string) manifest {
	t.Helper()
	var out bytes.Buffer
	if err := run(context.Background(), append([]string{"manifest"}, args...), func(k string) string { return env[k] }, &out, io.Discard); err != nil {
		t.Fatalf("charlize manifest %s: %v", strings.Join(args, " "), err)
	}
	var m manifest
	dec := yaml.NewDecoder(&out)
	dec.KnownFields(true)
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("manifest is not the expected YAML: %v\n%s", err, out.String())
	}
	return m
}

func TestManifest(t *testing.T) {
	m := runManifest(t, nil, "--url", "https://charlize.example.com/")
	const base = "https://charlize.example.com"
	if len(m.Features.SlashCommands) != 1 {
		t.Fatalf("slash commands = %+v, want /charlize", m.Features.SlashCommands)
	}
	cmd := m.Features.SlashCommands[0]
	checks := []struct{ name, got, want string }{
		{"command", cmd.Command, "/charlize"},
		{"command url", cmd.URL, base + "/slack/commands"},
		{"interactivity url", m.Settings.Interactivity.RequestURL, base + "/slack/interactions"},
		{"options url", m.Settings.Interactivity.MessageMenuOptionsURL, base + "/slack/options"},
		{"events url", m.Settings.EventSubscriptions.RequestURL, base + "/slack/events"},
		{"bot events", strings.Join(m.Settings.EventSubscriptions.BotEvents, ","), "app_mention,app_uninstalled,tokens_revoked"},
		{"redirect urls", strings.Join(m.OAuthConfig.RedirectURLs, ","), base + "/slack/oauth_redirect"},
		{"scopes", strings.Join(m.OAuthConfig.Scopes.Bot, ","), "commands,chat:write,app_mentions:read,files:write"},
		{"name", m.DisplayInformation.Name, "Charlize"},
		{"bot user", m.Features.BotUser.DisplayName, "Charlize"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("manifest %s = %q, want %q", c.name, c.got, c.want)
		}
	}
	// The README says an Enterprise Grid admin can install Charlize for
	// the whole org; Slack allows that only with org_deploy_enabled.
	if !m.Settings.OrgDeployEnabled {
		t.Errorf("org_deploy_enabled = false; the README promises org-wide installs")
	}
	if !cmd.ShouldEscape {
		t.Errorf("slash command should_escape = false; `audit @alice` then sends a name, not a user id")
	}
	if !m.Settings.Interactivity.IsEnabled || m.Settings.SocketModeEnabled || m.Settings.TokenRotationEnabled {
		t.Errorf("settings = %+v, want interactivity on, socket mode and token rotation off", m.Settings)
	}
}

func TestManifestSocketMode(t *testing.T) {
	m := runManifest(t, map[string]string{"SLACK_SCOPES": "commands,chat:write"}, "--url", "https://charlize.example.com", "--socket-mode", "--token-rotation")
	if !m.Settings.SocketModeEnabled || !m.Settings.TokenRotationEnabled {
		t.Errorf("settings = %+v, want socket mode and token rotation on", m.Settings)
	}
	if m.Features.SlashCommands[0].URL != "" || m.Settings.Interactivity.RequestURL != "" || m.Settings.EventSubscriptions.RequestURL != "" {
		t.Errorf("socket mode manifest has request URLs: %+v", m)
	}
	if len(m.Settings.EventSubscriptions.BotEvents) != 3 || !m.Settings.Interactivity.IsEnabled {
		t.Errorf("socket mode manifest lacks events or interactivity: %+v", m.Settings)
	}
	if strings.Join(m.OAuthConfig.Scopes.Bot, ",") != "commands,chat:write" {
		t.Errorf("scopes = %v, want SLACK_SCOPES", m.OAuthConfig.Scopes.Bot)
	}
	if got := runManifest(t, nil, "--socket-mode"); len(got.OAuthConfig.RedirectURLs) != 0 {
		t.Errorf("socket mode without --url lists redirect URLs %v", got.OAuthConfig.RedirectURLs)
	}
}

func TestManifestErrors(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"--url", "http://charlize.example.com"},
		{"--url", "charlize.example.com"},
		{"--url", "https://charlize.example.com", "extra"},
	} {
		err := run(context.Background(), append([]string{"manifest"}, args...), func(string) string { return "" }, io.Discard, io.Discard)
		if err == nil {
			t.Errorf("charlize manifest %q succeeded, want an error", args)
		}
	}
}

// With SLACK_APP_TOKEN the app opens a Socket Mode connection (through
// SLACK_API_URL, with the app-level token) and still serves health,
// readiness and metrics over HTTP.
func TestServeSocketMode(t *testing.T) {
	api := slacktest.NewAPI(t) // answers apps.connections.open with unknown_method: the app keeps retrying
	a := mustStart(t, map[string]string{
		"SLACK_BOT_TOKEN": slacktest.BotToken,
		"SLACK_APP_TOKEN": "xapp-1-A0KRD7HC3-1-main-test",
		"SLACK_API_URL":   api.APIURL(),
	})
	if call := api.WaitFor(t, "apps.connections.open", 1, 10*time.Second)[0]; call.Token != "xapp-1-A0KRD7HC3-1-main-test" {
		t.Errorf("apps.connections.open with token %q, want the app-level token", call.Token)
	}
	for _, path := range []string{"/healthz", "/readyz", "/metrics"} {
		if got := mustGetStatus(t, a.url+path); got != http.StatusOK {
			t.Errorf("GET %s = %d, want 200", path, got)
		}
	}
}
