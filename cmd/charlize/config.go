package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/charlize-app/charlize/store"
)

// config is everything Charlize reads from its environment. It is built
// once, by loadConfig; no other code reads the environment.
type config struct {
	SigningSecret  string
	BotToken       string
	SlackAPIURL    string
	RedisURL       string
	DataDir        string
	Addr           string
	LogLevel       slog.Level
	LogFormat      string
	AccountsFile   string
	Regions        []string
	AWSRegion      string
	AWSEndpointURL string
	// Static AWS keys, when the environment has them; the SDK would find
	// them too, but run's getenv may not be the process environment.
	AWSAccessKeyID, AWSSecretAccessKey, AWSSessionToken string
	ShutdownTimeout                                     time.Duration
	// installConfig holds the multi-workspace OAuth, encryption and
	// Socket Mode settings (install.go).
	installConfig

	PolicyFile   string
	AuditChannel string
	AuditLimit   int
	ApprovalTTL  time.Duration
	// LeaseTTL: how long a dead replica's actions wait before another
	// takes them over; ReadTimeout: how long a client may take to send a
	// request.
	LeaseTTL    time.Duration
	ReadTimeout time.Duration
	// AWSConcurrency bounds how many account-regions a listing asks at once.
	AWSConcurrency int
}

// envVar documents one variable; the same table drives --help.
type envVar struct {
	name, meaning string
}

var envVars = []envVar{
	{"SLACK_SIGNING_SECRET", "required for serve: verifies every request from Slack (app settings → Basic Information)"},
	{"SLACK_BOT_TOKEN", "single-workspace mode: the bot token (xoxb-…)"},
	{"SLACK_CLIENT_ID", "multi-workspace mode (with SLACK_CLIENT_SECRET, without SLACK_BOT_TOKEN): the app's client id for \"Add to Slack\""},
	{"SLACK_CLIENT_SECRET", "multi-workspace mode: the app's client secret"},
	{"SLACK_SCOPES", "bot scopes requested on install, comma-separated (default commands,chat:write,app_mentions:read)"},
	{"SLACK_REDIRECT_URL", "OAuth redirect URL (default: https://<host of the install page>/slack/oauth_redirect)"},
	{"CHARLIZE_ENCRYPTION_KEY", "required in multi-workspace mode: base64 of 32 bytes; encrypts tokens at rest (AES-256-GCM)"},
	{"CHARLIZE_ENCRYPTION_OLD_KEYS", "comma-separated previous keys, still accepted for decryption after a key rotation"},
	{"SLACK_APP_TOKEN", "app-level token (xapp-…): connect over Socket Mode instead of receiving Slack's HTTP requests"},
	{"SLACK_API_URL", "base URL of Slack's Web API (default https://slack.com/api/); tests and local fakes point it elsewhere"},
	{"REDIS_URL", "when set (redis://… or rediss://…), all state lives in Redis; when unset, in the embedded store"},
	{"CHARLIZE_DATA_DIR", "folder of the embedded store's files charlize.db and sessions.db (default ./data)"},
	{"CHARLIZE_ADDR", "listen address (default :3000; PORT is honoured as platforms set it)"},
	{"LOG_LEVEL", "debug, info (default), warn or error"},
	{"LOG_FORMAT", "json (default) or text"},
	{"CHARLIZE_ACCOUNTS_FILE", "YAML list of AWS accounts, roles and regions, and optionally an AWS Organization whose accounts are discovered (default: one account from the ambient credentials)"},
	{"CHARLIZE_REGIONS", "comma-separated regions for the default account (default AWS_REGION)"},
	{"AWS_REGION", "AWS region of the ambient credentials; AWS_* variables work as in every AWS SDK"},
	{"AWS_ENDPOINT_URL", "send AWS calls to another endpoint (the EC2/STS simulator in tests and demos)"},
	{"CHARLIZE_POLICY_FILE", "YAML rules of who may do what, and which actions need a second person's approval (default: everyone lists, sees status, starts, stops, reboots, restarts; nobody terminates)"},
	{"CHARLIZE_AUDIT_CHANNEL", "channel id (C…) that receives a post for every mutating action"},
	{"CHARLIZE_AUDIT_LIMIT", "how many audit entries are kept (default 100000)"},
	{"CHARLIZE_APPROVAL_TTL", "how long a two-person approval request stays open (default 30m)"},
	{"CHARLIZE_AWS_CONCURRENCY", "how many account-regions a listing asks at once, at most (default 64; a listing uses as many as it has)"},
	{"CHARLIZE_ACTION_LEASE", "how long an action stays with a replica that stopped renewing its lease (it died) before another replica takes it over (default 15s)"},
	{"CHARLIZE_HTTP_READ_TIMEOUT", "how long a client may take to send a whole request before it is cut off (default 5s; Slack sends in milliseconds)"},
}

const defaultSlackAPIURL = "https://slack.com/api/"

// loadConfig reads the environment through getenv and reports every
// missing or invalid variable at once, so one restart fixes them all.
func loadConfig(getenv func(string) string) (config, error) {
	c := config{
		SigningSecret:      getenv("SLACK_SIGNING_SECRET"),
		BotToken:           getenv("SLACK_BOT_TOKEN"),
		SlackAPIURL:        orDefault(getenv("SLACK_API_URL"), defaultSlackAPIURL),
		RedisURL:           getenv("REDIS_URL"),
		DataDir:            orDefault(getenv("CHARLIZE_DATA_DIR"), "./data"),
		Addr:               getenv("CHARLIZE_ADDR"),
		LogFormat:          strings.ToLower(orDefault(getenv("LOG_FORMAT"), "json")),
		AccountsFile:       getenv("CHARLIZE_ACCOUNTS_FILE"),
		AWSRegion:          getenv("AWS_REGION"),
		AWSEndpointURL:     getenv("AWS_ENDPOINT_URL"),
		AWSAccessKeyID:     getenv("AWS_ACCESS_KEY_ID"),
		AWSSecretAccessKey: getenv("AWS_SECRET_ACCESS_KEY"),
		AWSSessionToken:    getenv("AWS_SESSION_TOKEN"),
		ShutdownTimeout:    10 * time.Second,
	}
	var problems []string
	bad := func(name, format string, args ...any) {
		problems = append(problems, name+": "+fmt.Sprintf(format, args...))
	}

	loadInstallConfig(getenv, &c, bad)
	if c.SigningSecret == "" {
		bad("SLACK_SIGNING_SECRET", "missing; it verifies that requests come from Slack (app settings → Basic Information → Signing Secret)")
	}
	if c.BotToken != "" && !strings.HasPrefix(c.BotToken, "xoxb-") {
		bad("SLACK_BOT_TOKEN", "must be a bot token starting with xoxb-")
	}
	if u, err := url.Parse(c.SlackAPIURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		bad("SLACK_API_URL", "must be an http(s) URL")
	} else if !strings.HasSuffix(c.SlackAPIURL, "/") {
		c.SlackAPIURL += "/" // slack-go appends method names to it
	}
	if c.RedisURL != "" {
		if u, err := url.Parse(c.RedisURL); err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") {
			bad("REDIS_URL", "must start with redis:// or rediss://")
		}
	}
	if c.Addr == "" {
		if port := getenv("PORT"); port != "" {
			c.Addr = ":" + port
		} else {
			c.Addr = ":3000"
		}
	}
	if err := c.LogLevel.UnmarshalText([]byte(orDefault(getenv("LOG_LEVEL"), "info"))); err != nil {
		bad("LOG_LEVEL", "must be debug, info, warn or error")
	}
	if c.LogFormat != "json" && c.LogFormat != "text" {
		bad("LOG_FORMAT", "must be json or text")
	}
	for _, r := range strings.Split(getenv("CHARLIZE_REGIONS"), ",") {
		if r = strings.TrimSpace(r); r != "" {
			c.Regions = append(c.Regions, r)
		}
	}
	if len(c.Regions) == 0 && c.AWSRegion != "" {
		c.Regions = []string{c.AWSRegion}
	}
	if c.AWSEndpointURL != "" {
		if u, err := url.Parse(c.AWSEndpointURL); err != nil || u.Host == "" {
			bad("AWS_ENDPOINT_URL", "must be a URL")
		}
	}
	c.PolicyFile = getenv("CHARLIZE_POLICY_FILE")
	c.AuditChannel = getenv("CHARLIZE_AUDIT_CHANNEL")
	if c.AuditChannel != "" && !validChannelID(c.AuditChannel) {
		bad("CHARLIZE_AUDIT_CHANNEL", "must be a channel id such as C0123ABCD (channel details → About), not a name")
	}
	c.AWSConcurrency = 64
	if v := getenv("CHARLIZE_AWS_CONCURRENCY"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1024 {
			bad("CHARLIZE_AWS_CONCURRENCY", "must be a whole number from 1 to 1024")
		}
		c.AWSConcurrency = n
	}
	c.AuditLimit = store.DefaultAuditLimit
	if v := getenv("CHARLIZE_AUDIT_LIMIT"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			bad("CHARLIZE_AUDIT_LIMIT", "must be a positive whole number")
		}
		c.AuditLimit = n
	}
	duration := func(name string, def, least time.Duration, example string) time.Duration {
		v := getenv(name)
		if v == "" {
			return def
		}
		d, err := time.ParseDuration(v)
		if err != nil || d < least {
			bad(name, "must be a duration of at least %s, such as %s", strings.TrimSuffix(least.String(), "0s"), example)
		}
		return d
	}
	c.ApprovalTTL = duration("CHARLIZE_APPROVAL_TTL", 30*time.Minute, time.Second, "30m or 2h")
	c.LeaseTTL = duration("CHARLIZE_ACTION_LEASE", 15*time.Second, time.Second, "15s")
	c.ReadTimeout = duration("CHARLIZE_HTTP_READ_TIMEOUT", 5*time.Second, 100*time.Millisecond, "5s")
	if len(problems) > 0 {
		return c, errors.New("configuration:\n  " + strings.Join(problems, "\n  ") + "\n(see charlize serve --help)")
	}
	return c, nil
}

// validChannelID accepts Slack conversation ids (C…, G…), the only form
// chat.postMessage takes reliably.
func validChannelID(s string) bool {
	if len(s) < 9 || (s[0] != 'C' && s[0] != 'G') {
		return false
	}
	for _, r := range s {
		if (r < 'A' || r > 'Z') && (r < '0' || r > '9') {
			return false
		}
	}
	return true
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
