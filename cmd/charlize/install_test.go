package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/charlize-app/charlize/handlers/slacktest"
	"github.com/charlize-app/charlize/store"
)

const (
	installTeam  = "T0777"
	installToken = "xoxb-777-installed-team-token"
	installEvent = `{"token":"x","team_id":"` + installTeam + `","api_app_id":"A0KRD7HC3","type":"event_callback","event_id":"%s","event_time":1700000000,"event":%s}`
)

func testEncryptionKey(b byte) string {
	return base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{b}, 32))
}

// signedHelp sends a signed "/charlize help" from team and returns the answer.
func signedHelp(t *testing.T, a *process, team string) slack.WebhookMessage {
	t.Helper()
	resp, err := http.DefaultClient.Do(slacktest.FormRequest(a.url+"/slack/commands", testSecret,
		slacktest.Command(team, "U0ALICE", "help", "http://127.0.0.1:1/r")))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var msg slack.WebhookMessage
	if err := json.NewDecoder(resp.Body).Decode(&msg); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("help from %s = %d, %v", team, resp.StatusCode, err)
	}
	return msg
}

func sendEvent(t *testing.T, a *process, id, inner string) {
	t.Helper()
	body := []byte(fmt.Sprintf(installEvent, id, inner))
	resp, err := http.DefaultClient.Do(slacktest.JSONRequest(a.url+"/slack/events", testSecret, body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("event %s = %d", id, resp.StatusCode)
	}
}

var addToSlackHref = regexp.MustCompile(`id="add-to-slack" href="([^"]+)"`)

// The whole multi-workspace life cycle, through run as main starts it:
// install page → state → redirect with a code → an encrypted installation
// → that team's requests are served with its token → app_uninstalled →
// the team is told Charlize is not installed.
func TestMultiWorkspaceInstallEndToEnd(t *testing.T) {
	api := slacktest.NewAPI(t)
	api.SetOAuthAccess(`{"ok": true, "access_token": "` + installToken + `", "token_type": "bot",
		"scope": "commands,chat:write,app_mentions:read", "bot_user_id": "U0BOT777", "app_id": "A0KRD7HC3",
		"team": {"name": "Team Seven", "id": "` + installTeam + `"}, "enterprise": null, "is_enterprise_install": false,
		"authed_user": {"id": "U0INSTALLER", "scope": "", "token_type": "user"},
		"expires_in": 43200, "refresh_token": "xoxe-1-777-refresh-token"}`)
	dataDir := t.TempDir()
	a := mustStart(t, map[string]string{
		"SLACK_CLIENT_ID":         "4242.1717",
		"SLACK_CLIENT_SECRET":     "main-test-client-secret",
		"SLACK_API_URL":           api.APIURL(),
		"CHARLIZE_ENCRYPTION_KEY": testEncryptionKey(7),
		"CHARLIZE_DATA_DIR":       dataDir,
	})

	if msg := signedHelp(t, a, installTeam); !strings.Contains(msg.Text, "not installed") {
		t.Fatalf("help before install = %q, want not installed", msg.Text)
	}

	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar}
	resp, err := browser.Get(a.url + "/slack/install")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := addToSlackHref.FindSubmatch(page)
	if resp.StatusCode != http.StatusOK || m == nil {
		t.Fatalf("install page = %d\n%s", resp.StatusCode, page)
	}
	authorize, err := url.Parse(html.UnescapeString(string(m[1])))
	if err != nil {
		t.Fatal(err)
	}
	q := authorize.Query()
	redirect, state := q.Get("redirect_uri"), q.Get("state")
	if redirect != a.url+"/slack/oauth_redirect" || state == "" {
		t.Fatalf("authorize URL %s: want redirect_uri %s/slack/oauth_redirect and a state", authorize, a.url)
	}

	resp, err = browser.Get(redirect + "?" + url.Values{"code": {"code-from-slack"}, "state": {state}}.Encode())
	if err != nil {
		t.Fatal(err)
	}
	page, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(page), "Charlize is installed in Team Seven") {
		t.Fatalf("redirect = %d\n%s", resp.StatusCode, page)
	}

	// At rest, in the bbolt file, the tokens are not in clear.
	raw, err := os.ReadFile(filepath.Join(dataDir, store.EmbeddedFile))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(raw, []byte(installTeam)) {
		t.Fatal("the installation is not in the store file")
	}
	for _, secret := range []string{installToken, "xoxe-1-777-refresh-token"} {
		if bytes.Contains(raw, []byte(secret)) {
			t.Errorf("store file holds %q in clear", secret)
		}
	}

	if msg := signedHelp(t, a, installTeam); msg.Blocks == nil || strings.Contains(msg.Text, "not installed") {
		t.Fatalf("help after install = %+v, want the help message", msg)
	}
	if msg := signedHelp(t, a, "T0001"); !strings.Contains(msg.Text, "not installed") {
		t.Errorf("help from a workspace that did not install = %q, want not installed", msg.Text)
	}

	// A flow that calls Slack uses the team's own token.
	sendEvent(t, a, "Ev0MENTION1", `{"type":"app_mention","user":"U0ALICE","text":"<@U0BOT777> hi","ts":"1700000000.000100","channel":"C0777","event_ts":"1700000000.000100"}`)
	post := api.WaitFor(t, "chat.postMessage", 1, 10*time.Second)[0]
	if post.Token != installToken {
		t.Errorf("mention reply posted with token %q, want the installation's", post.Token)
	}

	sendEvent(t, a, "Ev0UNINST1", `{"type":"app_uninstalled"}`)
	if msg := signedHelp(t, a, installTeam); !strings.Contains(msg.Text, "not installed") {
		t.Errorf("help after app_uninstalled = %q, want not installed", msg.Text)
	}
	if logs := a.logs.String(); strings.Contains(logs, installToken) || strings.Contains(logs, "main-test-client-secret") {
		t.Error("logs contain a secret")
	}
}

// Single-workspace mode has no install routes.
func TestSingleWorkspaceHasNoInstallRoutes(t *testing.T) {
	a := mustStart(t, map[string]string{"SLACK_BOT_TOKEN": slacktest.BotToken})
	for _, path := range []string{"/slack/install", "/slack/oauth_redirect"} {
		if got := mustGetStatus(t, a.url+path); got == http.StatusOK {
			t.Errorf("GET %s in single-workspace mode = %d, want no such route", path, got)
		}
	}
	if msg := signedHelp(t, a, "T0001"); msg.Blocks == nil {
		t.Errorf("help = %+v, want the help message", msg)
	}
}

func TestInstallConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want []string // variables the error names
	}{
		{"multi-workspace without a key", map[string]string{"SLACK_CLIENT_ID": "1.2", "SLACK_CLIENT_SECRET": "s"}, []string{"CHARLIZE_ENCRYPTION_KEY"}},
		{"client id alone", map[string]string{"SLACK_CLIENT_ID": "1.2"}, []string{"SLACK_CLIENT_ID"}},
		{"short key", map[string]string{"CHARLIZE_ENCRYPTION_KEY": base64.StdEncoding.EncodeToString([]byte("short"))}, []string{"CHARLIZE_ENCRYPTION_KEY"}},
		{"not base64", map[string]string{"CHARLIZE_ENCRYPTION_KEY": "not*base64!"}, []string{"CHARLIZE_ENCRYPTION_KEY"}},
		{"bad old key", map[string]string{"CHARLIZE_ENCRYPTION_KEY": testEncryptionKey(1), "CHARLIZE_ENCRYPTION_OLD_KEYS": testEncryptionKey(2) + ",nope"}, []string{"CHARLIZE_ENCRYPTION_OLD_KEYS"}},
		{"bot token as app token", map[string]string{"SLACK_APP_TOKEN": "xoxb-1"}, []string{"SLACK_APP_TOKEN"}},
		{"redirect not a URL", map[string]string{"SLACK_REDIRECT_URL": "charlize.example.com/cb"}, []string{"SLACK_REDIRECT_URL"}},
		{"bad scope", map[string]string{"SLACK_SCOPES": "commands, chat write"}, []string{"SLACK_SCOPES"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{"SLACK_SIGNING_SECRET": testSecret}
			for k, v := range tt.env {
				env[k] = v
			}
			err := run(context.Background(), []string{"serve"}, func(k string) string { return env[k] }, io.Discard, io.Discard)
			if err == nil {
				t.Fatal("run succeeded")
			}
			for _, name := range tt.want {
				if !strings.Contains(err.Error(), name) {
					t.Errorf("error does not name %s:\n%v", name, err)
				}
			}
			if strings.Contains(err.Error(), "not*base64!") || strings.Contains(err.Error(), testEncryptionKey(2)) {
				t.Errorf("error repeats a key:\n%v", err)
			}
		})
	}
}

func TestLoadConfigInstallModes(t *testing.T) {
	old := testEncryptionKey(2)
	tests := []struct {
		name      string
		env       map[string]string
		wantMulti bool
		check     func(t *testing.T, c config)
	}{
		{"bot token", map[string]string{"SLACK_BOT_TOKEN": "xoxb-1"}, false, nil},
		{"bot token wins over OAuth", map[string]string{"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_CLIENT_ID": "1.2", "SLACK_CLIENT_SECRET": "s"}, false, nil},
		{"OAuth", map[string]string{"SLACK_CLIENT_ID": "1.2", "SLACK_CLIENT_SECRET": "s", "CHARLIZE_ENCRYPTION_KEY": testEncryptionKey(1),
			"CHARLIZE_ENCRYPTION_OLD_KEYS": old + ", " + testEncryptionKey(3), "SLACK_SCOPES": "commands, chat:write",
			"SLACK_APP_TOKEN": "xapp-1-A1-1-x"}, true, func(t *testing.T, c config) {
			if len(c.EncryptionKey) != 32 || len(c.OldEncryptionKeys) != 2 || strings.Join(c.Scopes, ",") != "commands,chat:write" || c.AppToken == "" {
				t.Errorf("config = %+v", c.installConfig)
			}
		}},
		{"default scopes", map[string]string{}, false, func(t *testing.T, c config) {
			if strings.Join(c.Scopes, ",") != defaultScopes {
				t.Errorf("scopes = %v, want %s", c.Scopes, defaultScopes)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{"SLACK_SIGNING_SECRET": testSecret}
			for k, v := range tt.env {
				env[k] = v
			}
			c, err := loadConfig(func(k string) string { return env[k] })
			if err != nil {
				t.Fatal(err)
			}
			if c.multiWorkspace() != tt.wantMulti {
				t.Errorf("multiWorkspace() = %v, want %v", c.multiWorkspace(), tt.wantMulti)
			}
			if tt.check != nil {
				tt.check(t, c)
			}
		})
	}
}
