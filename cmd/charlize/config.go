package main

import (
	"cmp"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/charlize-app/charlize/ec2ops"
	"github.com/charlize-app/charlize/handlers"
	"github.com/charlize-app/charlize/handlers/schedule"
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
	LogRequests    handlers.LogRequests
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

	// The instance card: how far back its graph looks, and which tags it
	// shows besides env, owner and team.
	GraphWindow time.Duration
	CardTags    []string

	// listener, when set, is where serve accepts connections instead of
	// listening on Addr: demo binds its port before Charlize starts.
	listener net.Listener

	// Schedules (see schedule.go in handlers/app).
	SchedulesFile   string
	ScheduleWarning time.Duration // negative: no warning
	ScheduleGrace   time.Duration
	ScheduleChannel string
	TimeZone        *time.Location
	// EventsQueueURL is the SQS queue of AWS events read with Charlize's
	// own credentials; EventsChannel is where events of accounts without a
	// channel of their own go.
	EventsQueueURL string
	EventsChannel  string
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
	{"SLACK_SCOPES", "bot scopes requested on install, comma-separated (default " + defaultScopes + ")"},
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
	{"LOG_REQUESTS", "which requests get a log line: all (default; probes and /metrics at debug level), errors (4xx and 5xx only) or off"},
	{"CHARLIZE_ACCOUNTS_FILE", "YAML list of AWS accounts, roles and regions, and optionally an AWS Organization whose accounts are discovered (default: one account from the ambient credentials)"},
	{"CHARLIZE_REGIONS", "comma-separated regions for the default account (default AWS_REGION)"},
	{"AWS_REGION", "AWS region of the ambient credentials; AWS_* variables work as in every AWS SDK"},
	{"AWS_ENDPOINT_URL", "send AWS calls to another endpoint (the EC2/STS simulator in tests and demos)"},
	{"CHARLIZE_POLICY_FILE", "YAML rules of who may do what, and which actions need a second person's approval (default: everyone lists, sees status, starts, stops, reboots, restarts; nobody terminates)"},
	{"CHARLIZE_AUDIT_CHANNEL", "channel id (C…) that receives a post for every mutating action"},
	{"CHARLIZE_AUDIT_LIMIT", "how many audit entries are kept (default 100000)"},
	{"CHARLIZE_APPROVAL_TTL", "how long a two-person approval request stays open (default 30m)"},
	{"CHARLIZE_AWS_CONCURRENCY", "how many account-regions a listing asks at once, at most (default 128; a listing uses as many as it has)"},
	{"CHARLIZE_ACTION_LEASE", "how long an action stays with a replica that stopped renewing its lease (it died) before another replica takes it over (default 15s)"},
	{"CHARLIZE_SCHEDULES_FILE", "YAML schedules kept in git (read-only in Slack), checked at start-up"},
	{"CHARLIZE_SCHEDULE_CHANNEL", "channel id (C…) where schedules warn before stops and report what they did, for accounts without a channel of their own"},
	{"CHARLIZE_SCHEDULE_WARNING", "how long before a scheduled stop the warning with its snooze buttons is posted (default 15m; 0 posts none)"},
	{"CHARLIZE_SCHEDULE_GRACE", "how late a scheduled start or stop missed while Charlize was down is still carried out (default 30m); older ones are reported as skipped"},
	{"CHARLIZE_TIME_ZONE", "IANA time zone of schedules that name none (default UTC)"},
	{"CHARLIZE_HTTP_READ_TIMEOUT", "how long a client may take to send a whole request before it is cut off (default 5s; Slack sends in milliseconds)"},
	{"CHARLIZE_GRAPH_WINDOW", "how far back the instance card's CPU graph looks, 1h to 24h (default 3h)"},
	{"CHARLIZE_CARD_TAGS", "comma-separated tag keys the instance card shows besides env, owner and team"},
	{"CHARLIZE_EVENTS_QUEUE_URL", "SQS queue of AWS events (EC2 state changes, CloudWatch alarms, scheduled maintenance), read with Charlize's own credentials; accounts can name their own events_queue_url"},
	{"CHARLIZE_EVENTS_CHANNEL", "channel id (C…) that receives the AWS events of accounts whose entry names no channel"},
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
	c.Addr = listenAddr(getenv)
	if err := c.LogLevel.UnmarshalText([]byte(orDefault(getenv("LOG_LEVEL"), "info"))); err != nil {
		bad("LOG_LEVEL", "must be debug, info, warn or error")
	}
	if c.LogFormat != "json" && c.LogFormat != "text" {
		bad("LOG_FORMAT", "must be json or text")
	}
	c.LogRequests = handlers.LogRequests(strings.ToLower(orDefault(getenv("LOG_REQUESTS"), string(handlers.LogRequestsAll))))
	switch c.LogRequests {
	case handlers.LogRequestsAll, handlers.LogRequestsErrors, handlers.LogRequestsOff:
	default:
		bad("LOG_REQUESTS", "must be all, errors or off")
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
	c.AWSConcurrency = ec2ops.DefaultConcurrency
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
			bad(name, "must be a duration of at least %s, such as %s", cmp.Or(strings.TrimSuffix(least.String(), "0s"), "0"), example)
		}
		return d
	}
	c.ApprovalTTL = duration("CHARLIZE_APPROVAL_TTL", 30*time.Minute, time.Second, "30m or 2h")
	c.LeaseTTL = duration("CHARLIZE_ACTION_LEASE", 15*time.Second, time.Second, "15s")
	c.ReadTimeout = duration("CHARLIZE_HTTP_READ_TIMEOUT", 5*time.Second, 100*time.Millisecond, "5s")
	c.GraphWindow = 3 * time.Hour
	if v := getenv("CHARLIZE_GRAPH_WINDOW"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Hour || d > 24*time.Hour {
			// CloudWatch's 5-minute points make less than an hour a few dots,
			// and more than a day unreadable at Slack's preview size.
			bad("CHARLIZE_GRAPH_WINDOW", "must be a duration from 1h to 24h, such as 3h or 90m")
		}
		c.GraphWindow = d
	}
	for _, k := range strings.Split(getenv("CHARLIZE_CARD_TAGS"), ",") {
		switch k = strings.TrimSpace(k); {
		case k == "":
		case len(k) > 128 || strings.HasPrefix(strings.ToLower(k), "aws:"):
			bad("CHARLIZE_CARD_TAGS", "%q is not a tag key (at most 128 characters, not aws:…)", k)
		default:
			c.CardTags = append(c.CardTags, k)
		}
	}
	c.SchedulesFile = getenv("CHARLIZE_SCHEDULES_FILE")
	c.ScheduleChannel = getenv("CHARLIZE_SCHEDULE_CHANNEL")
	if c.ScheduleChannel != "" && !validChannelID(c.ScheduleChannel) {
		bad("CHARLIZE_SCHEDULE_CHANNEL", "must be a channel id such as C0123ABCD (channel details → About), not a name")
	}
	c.ScheduleWarning = duration("CHARLIZE_SCHEDULE_WARNING", 15*time.Minute, 0, "15m")
	if c.ScheduleWarning == 0 {
		c.ScheduleWarning = -1 // no warning, as asked
	}
	c.ScheduleGrace = duration("CHARLIZE_SCHEDULE_GRACE", 30*time.Minute, time.Minute, "30m")
	c.TimeZone = time.UTC
	if v := getenv("CHARLIZE_TIME_ZONE"); v != "" {
		loc, err := schedule.LoadZone(v)
		if err != nil {
			bad("CHARLIZE_TIME_ZONE", "must be an IANA time zone name such as Europe/Warsaw or UTC")
		} else {
			c.TimeZone = loc
		}
	}
	c.EventsQueueURL = getenv("CHARLIZE_EVENTS_QUEUE_URL")
	if c.EventsQueueURL != "" {
		if err := ec2ops.CheckQueueURL(c.EventsQueueURL); err != nil {
			bad("CHARLIZE_EVENTS_QUEUE_URL", "%v", err)
		}
	}
	c.EventsChannel = getenv("CHARLIZE_EVENTS_CHANNEL")
	if c.EventsChannel != "" && !validChannelID(c.EventsChannel) {
		bad("CHARLIZE_EVENTS_CHANNEL", "must be a channel id such as C0123ABCD (channel details → About), not a name")
	}
	if len(problems) > 0 {
		return c, &configError{problems: problems}
	}
	return c, nil
}

// configError lists every problem loadConfig found, each "NAME: what is
// wrong", so that doctor can show them one per row.
type configError struct {
	problems []string
}

func (e *configError) Error() string {
	return "configuration:\n  " + strings.Join(e.problems, "\n  ") + "\n(see charlize serve --help)"
}

// listenAddr is CHARLIZE_ADDR, else :PORT as platforms set it, else :3000.
// healthcheck reads it too, to find the server it asks.
func listenAddr(getenv func(string) string) string {
	if a := getenv("CHARLIZE_ADDR"); a != "" {
		return a
	}
	if port := getenv("PORT"); port != "" {
		return ":" + port
	}
	return ":3000"
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
