package main

import (
	"flag"
	"fmt"
	"io"
	"net/url"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/charlize-app/charlize/handlers"
)

// The Slack app manifest (api.slack.com/reference/manifests), only the
// parts Charlize uses. Field order is the order Slack documents.
type manifest struct {
	DisplayInformation manifestDisplay  `yaml:"display_information"`
	Features           manifestFeatures `yaml:"features"`
	OAuthConfig        manifestOAuth    `yaml:"oauth_config"`
	Settings           manifestSettings `yaml:"settings"`
}

type manifestDisplay struct {
	Name            string `yaml:"name"`
	Description     string `yaml:"description"`
	BackgroundColor string `yaml:"background_color"`
}

type manifestFeatures struct {
	BotUser       manifestBotUser        `yaml:"bot_user"`
	SlashCommands []manifestSlashCommand `yaml:"slash_commands"`
}

type manifestBotUser struct {
	DisplayName  string `yaml:"display_name"`
	AlwaysOnline bool   `yaml:"always_online"`
}

type manifestSlashCommand struct {
	Command      string `yaml:"command"`
	URL          string `yaml:"url,omitempty"`
	Description  string `yaml:"description"`
	UsageHint    string `yaml:"usage_hint"`
	ShouldEscape bool   `yaml:"should_escape"`
}

type manifestOAuth struct {
	RedirectURLs []string       `yaml:"redirect_urls,omitempty"`
	Scopes       manifestScopes `yaml:"scopes"`
}

type manifestScopes struct {
	Bot []string `yaml:"bot"`
}

type manifestSettings struct {
	EventSubscriptions   manifestEvents        `yaml:"event_subscriptions"`
	Interactivity        manifestInteractivity `yaml:"interactivity"`
	OrgDeployEnabled     bool                  `yaml:"org_deploy_enabled"`
	SocketModeEnabled    bool                  `yaml:"socket_mode_enabled"`
	TokenRotationEnabled bool                  `yaml:"token_rotation_enabled"`
}

type manifestEvents struct {
	RequestURL string   `yaml:"request_url,omitempty"`
	BotEvents  []string `yaml:"bot_events"`
}

type manifestInteractivity struct {
	IsEnabled             bool   `yaml:"is_enabled"`
	RequestURL            string `yaml:"request_url,omitempty"`
	MessageMenuOptionsURL string `yaml:"message_menu_options_url,omitempty"`
}

// manifestEvents are the bot events Charlize handles: mentions, and the
// two that end an installation.
var manifestBotEvents = []string{"app_mention", "app_uninstalled", "tokens_revoked"}

// buildManifest describes Charlize served at base (https://host[/prefix]).
// In Socket Mode Slack needs no request URLs; the redirect URL is still
// listed when base is known, for "Add to Slack".
func buildManifest(base string, socketMode, tokenRotation bool, scopes []string) manifest {
	base = strings.TrimSuffix(base, "/")
	at := func(path string) string {
		if base == "" || socketMode {
			return ""
		}
		return base + path
	}
	m := manifest{
		DisplayInformation: manifestDisplay{
			Name:            "Charlize",
			Description:     "Operate AWS EC2 instances from Slack",
			BackgroundColor: "#232f3e",
		},
		Features: manifestFeatures{
			BotUser: manifestBotUser{DisplayName: "Charlize", AlwaysOnline: true},
			SlashCommands: []manifestSlashCommand{{
				Command:     "/charlize",
				URL:         at("/slack/commands"),
				Description: "List, start, stop and reboot EC2 instances",
				UsageHint:   "[list|start|stop|reboot|help] [query]",
				// Mentions then arrive as <@U…|name>, so `audit @alice` names
				// a user id Charlize can filter on.
				ShouldEscape: true,
			}},
		},
		OAuthConfig: manifestOAuth{Scopes: manifestScopes{Bot: scopes}},
		Settings: manifestSettings{
			EventSubscriptions: manifestEvents{RequestURL: at("/slack/events"), BotEvents: manifestBotEvents},
			Interactivity: manifestInteractivity{
				IsEnabled:             true,
				RequestURL:            at("/slack/interactions"),
				MessageMenuOptionsURL: at("/slack/options"),
			},
			// Enterprise Grid admins may install Charlize org-wide (the
			// installation is then the org's; see README "Many workspaces").
			OrgDeployEnabled:     true,
			SocketModeEnabled:    socketMode,
			TokenRotationEnabled: tokenRotation,
		},
	}
	if base != "" {
		m.OAuthConfig.RedirectURLs = []string{base + handlers.OAuthRedirectPath}
	}
	return m
}

func manifestCommand(args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("manifest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	base := fs.String("url", "", "public https URL Charlize is served at (required without --socket-mode)")
	socketMode := fs.Bool("socket-mode", false, "Slack reaches Charlize over Socket Mode: no request URLs")
	rotation := fs.Bool("token-rotation", false, "turn on token rotation (multi-workspace installs refresh their tokens)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: charlize manifest --url https://charlize.example.com [--socket-mode] [--token-rotation]\n\n"+
			"Prints a Slack app manifest (YAML) to paste into api.slack.com/apps → Create New App → From a manifest.\n"+
			"Scopes come from SLACK_SCOPES (default "+defaultScopes+").")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return flagErr(err)
	}
	if fs.NArg() > 0 {
		return usageErrorf("manifest: unexpected argument %q", fs.Arg(0))
	}
	if *base == "" && !*socketMode {
		return usageErrorf("manifest: --url is required (or --socket-mode)")
	}
	if *base != "" {
		u, err := url.Parse(*base)
		if err != nil || u.Scheme != "https" || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			return usageErrorf("manifest: --url must be an https URL such as https://charlize.example.com")
		}
	}
	scopes, err := parseScopes(getenv("SLACK_SCOPES"))
	if err != nil {
		return fmt.Errorf("manifest: SLACK_SCOPES: %w", err)
	}
	enc := yaml.NewEncoder(stdout)
	enc.SetIndent(2)
	if err := enc.Encode(buildManifest(*base, *socketMode, *rotation, scopes)); err != nil {
		return fmt.Errorf("manifest: %w", err)
	}
	return enc.Close()
}
