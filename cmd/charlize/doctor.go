package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/slack-go/slack"

	"github.com/charlize-app/charlize/ec2ops"
	"github.com/charlize-app/charlize/handlers/policy"
	"github.com/charlize-app/charlize/handlers/slackclient"
	"github.com/charlize-app/charlize/store"
)

// doctorTimeout bounds each network check, so a doctor run against an
// unreachable AWS or Slack ends with ❌ rows rather than hanging.
const doctorTimeout = 15 * time.Second

// check is one row of doctor's report.
type check struct {
	Check  string `json:"check"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail,omitempty"`
	// Fix says what to change when the check failed.
	Fix string `json:"fix,omitempty"`
}

// doctorReport is what --json prints.
type doctorReport struct {
	OK     bool    `json:"ok"`
	Checks []check `json:"checks"`
}

// errChecksFailed is doctor's failure: exit 1 after the report.
type errChecksFailed struct{ failed, total int }

func (e errChecksFailed) Error() string {
	return fmt.Sprintf("doctor: %d of %d checks failed", e.failed, e.total)
}

// secretVars are never printed, only said to be set.
var secretVars = map[string]bool{
	"SLACK_SIGNING_SECRET": true, "SLACK_BOT_TOKEN": true, "SLACK_CLIENT_SECRET": true, "SLACK_APP_TOKEN": true,
	"CHARLIZE_ENCRYPTION_KEY": true, "CHARLIZE_ENCRYPTION_OLD_KEYS": true,
	"AWS_ACCESS_KEY_ID": true, "AWS_SECRET_ACCESS_KEY": true, "AWS_SESSION_TOKEN": true,
}

// alsoRead are variables loadConfig reads that the envVars table mentions
// only in passing.
var alsoRead = []string{"PORT", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"}

// doctorCommand checks a configuration before going live: the variables,
// the files they name, the store, Slack's auth.test and, for every AWS
// account and region, AssumeRole and a DescribeInstances dry run.
func doctorCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("doctor", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "print the report as JSON, for scripts")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), `Usage: charlize doctor [--json]

Checks the configuration in the environment, as charlize serve would read
it, before going live: every variable and where its value comes from, the
accounts and policy files, the store, Slack (auth.test: workspace, bot,
scopes granted against those needed) and, for every AWS account and region,
AssumeRole and a DescribeInstances dry run. Each row is ✅ or ❌ with the
fix. Exit status 0 when every check passes, 1 otherwise.

Flags:`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return flagErr(err)
	}
	if fs.NArg() > 0 {
		return usageErrorf("doctor: unexpected argument %q", fs.Arg(0))
	}

	checks := diagnose(ctx, getenv)
	failed := 0
	for _, c := range checks {
		if !c.OK {
			failed++
		}
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(doctorReport{OK: failed == 0, Checks: checks}); err != nil {
			return err
		}
	} else {
		printChecks(stdout, checks)
	}
	if failed > 0 {
		return errChecksFailed{failed: failed, total: len(checks)}
	}
	return nil
}

func printChecks(w io.Writer, checks []check) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CHECK\tOK\tDETAIL / FIX")
	for _, c := range checks {
		mark, text := "✅", c.Detail
		if !c.OK {
			mark = "❌"
			if c.Fix != "" {
				text = strings.TrimSpace(c.Detail + " → fix: " + c.Fix)
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", c.Check, mark, text)
	}
	tw.Flush()
}

// diagnose runs every check; it never stops at the first failure.
func diagnose(ctx context.Context, getenv func(string) string) []check {
	cfg, err := loadConfig(getenv)
	problems := map[string][]string{}
	var cerr *configError
	if errors.As(err, &cerr) {
		for _, p := range cerr.problems {
			name, what, _ := strings.Cut(p, ": ")
			problems[name] = append(problems[name], what)
		}
	}
	checks := variableChecks(getenv, problems)
	pol, polErr := policy.Load(cfg.PolicyFile) // read once: its check, and the scopes it needs
	checks = append(checks, fileChecks(cfg, pol, polErr)...)
	checks = append(checks, storeCheck(ctx, cfg))
	checks = append(checks, slackChecks(ctx, cfg, pol)...)
	checks = append(checks, awsChecks(ctx, cfg)...)
	return checks
}

func variableChecks(getenv func(string) string, problems map[string][]string) []check {
	names := make([]string, 0, len(envVars)+len(alsoRead))
	for _, v := range envVars {
		names = append(names, v.name)
	}
	for _, n := range alsoRead {
		if !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	var out []check
	for _, name := range names {
		raw := getenv(name)
		c := check{Check: name, OK: len(problems[name]) == 0}
		switch {
		case raw == "":
			c.Detail = "not set (default)"
		case secretVars[name]:
			c.Detail = "set in the environment (secret, not shown)"
		case name == "REDIS_URL":
			c.Detail = "environment: " + redactURL(raw)
		default:
			c.Detail = "environment: " + raw
		}
		if !c.OK {
			c.Fix = strings.Join(problems[name], "; ")
		}
		out = append(out, c)
		delete(problems, name)
	}
	// Problems about no single variable (none today) still get a row.
	for name, ps := range problems {
		out = append(out, check{Check: name, Fix: strings.Join(ps, "; ")})
	}
	return out
}

// redactURL hides a password in a URL.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(not a URL)"
	}
	return u.Redacted()
}

func fileChecks(cfg config, pol *policy.Policy, polErr error) []check {
	var out []check
	if cfg.AccountsFile != "" || len(cfg.Regions) > 0 {
		c := check{Check: "accounts"}
		accounts, err := ec2ops.LoadAccounts(cfg.AccountsFile, cfg.Regions)
		if err != nil {
			c.Fix = err.Error()
		} else {
			c.OK = true
			c.Detail = fmt.Sprintf("%d account(s): %s", len(accounts), accountNames(accounts))
			if cfg.AccountsFile == "" {
				c.Detail += " (the ambient credentials; no CHARLIZE_ACCOUNTS_FILE)"
			}
		}
		out = append(out, c)
	} else {
		out = append(out, check{Check: "accounts", Detail: "no AWS accounts configured",
			Fix: "set CHARLIZE_ACCOUNTS_FILE, or AWS_REGION / CHARLIZE_REGIONS for the ambient credentials' account"})
	}
	c := check{Check: "policy"}
	if polErr != nil {
		c.Fix = polErr.Error()
	} else {
		c.OK = true
		c.Detail = pol.Summary()
		if w := pol.Warnings(); len(w) > 0 {
			c.Detail += "; warning: " + strings.Join(w, "; ")
		}
	}
	return append(out, c)
}

func accountNames(accounts []ec2ops.Account) string {
	names := make([]string, len(accounts))
	for i, a := range accounts {
		names[i] = a.Name
	}
	return strings.Join(names, ", ")
}

// storeCheck pings Redis, or checks that the embedded store's folder is
// writable: opening the file itself would wait for a running Charlize,
// which holds its lock.
func storeCheck(ctx context.Context, cfg config) check {
	if cfg.RedisURL != "" {
		c := check{Check: "store (redis)"}
		r, err := store.OpenRedis(cfg.RedisURL, store.RedisOptions{AuditLimit: cfg.AuditLimit})
		if err != nil {
			c.Fix = "REDIS_URL: " + err.Error()
			return c
		}
		defer r.Close()
		ctx, cancel := context.WithTimeout(ctx, doctorTimeout)
		defer cancel()
		if err := r.Ping(ctx); err != nil {
			c.Detail = "Redis at " + redactURL(cfg.RedisURL) + " does not answer"
			c.Fix = "start Redis or correct REDIS_URL"
			return c
		}
		c.OK, c.Detail = true, "Redis answers at "+redactURL(cfg.RedisURL)
		return c
	}
	c := check{Check: "store (embedded)"}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		c.Fix = fmt.Sprintf("CHARLIZE_DATA_DIR %s cannot be created: %v", cfg.DataDir, err)
		return c
	}
	probe, err := os.CreateTemp(cfg.DataDir, ".doctor-*")
	if err != nil {
		c.Fix = fmt.Sprintf("CHARLIZE_DATA_DIR %s is not writable by this user: %v", cfg.DataDir, err)
		return c
	}
	probe.Close()
	os.Remove(probe.Name())
	abs, _ := filepath.Abs(cfg.DataDir)
	c.OK, c.Detail = true, "writable folder "+abs+" (one process at a time; use Redis for replicas)"
	return c
}

// neededScopes are the bot scopes the configured features call for; pol
// is nil when the policy could not be read (its own check says so).
func neededScopes(pol *policy.Policy) []string {
	need := append([]string{}, strings.Split(defaultScopes, ",")...)
	if pol != nil && len(pol.UserGroups()) > 0 {
		need = append(need, "usergroups:read")
	}
	return need
}

func slackChecks(ctx context.Context, cfg config, pol *policy.Policy) []check {
	if cfg.BotToken == "" {
		if cfg.multiWorkspace() {
			return []check{{Check: "slack auth", OK: true,
				Detail: "multi-workspace mode: each workspace's token is checked when it installs; scopes asked: " + strings.Join(cfg.Scopes, ",")}}
		}
		return []check{{Check: "slack auth", Detail: "no Slack token",
			Fix: "set SLACK_BOT_TOKEN (one workspace) or SLACK_CLIENT_ID, SLACK_CLIENT_SECRET and CHARLIZE_ENCRYPTION_KEY (many)"}}
	}
	var granted string
	api := slack.New(cfg.BotToken, slack.OptionAPIURL(cfg.SlackAPIURL),
		slack.OptionHTTPClient(slackclient.NewHTTPClientWith(slackclient.HTTPOptions{UserAgent: userAgent(readBuildInfo())})),
		// Slack lists the token's scopes in a header of every answer.
		slack.OptionOnResponseHeaders(func(_ string, h http.Header) { granted = h.Get("X-OAuth-Scopes") }))
	ctx, cancel := context.WithTimeout(ctx, doctorTimeout)
	defer cancel()
	auth := check{Check: "slack auth.test"}
	resp, err := api.AuthTestContext(ctx)
	if err != nil {
		auth.Detail = "Slack refused the bot token"
		if code := slackclient.ErrorCode(err); code != "" {
			auth.Detail += " (" + code + ")"
		}
		auth.Fix = "copy the Bot User OAuth Token (xoxb-…) from OAuth & Permissions into SLACK_BOT_TOKEN; reinstall the app if it was revoked"
		return []check{auth}
	}
	auth.OK = true
	auth.Detail = fmt.Sprintf("workspace %s (%s), bot %s (%s)", resp.Team, resp.TeamID, resp.User, resp.UserID)
	scopes := check{Check: "slack scopes"}
	have := map[string]bool{}
	for _, s := range strings.Split(granted, ",") {
		have[strings.TrimSpace(s)] = true
	}
	needed := neededScopes(pol)
	var missing []string
	for _, s := range needed {
		if !have[s] {
			missing = append(missing, s)
		}
	}
	switch {
	case granted == "":
		scopes.OK, scopes.Detail = true, "Slack did not list the token's scopes; needed: "+strings.Join(needed, ",")
	case len(missing) > 0:
		scopes.Detail = "granted " + granted + "; missing " + strings.Join(missing, ",")
		scopes.Fix = "add " + strings.Join(missing, ", ") + " under OAuth & Permissions → Bot Token Scopes (and in SLACK_SCOPES), then reinstall the app"
	default:
		scopes.OK, scopes.Detail = true, "granted "+granted
	}
	return []check{auth, scopes}
}

func awsChecks(ctx context.Context, cfg config) []check {
	if cfg.AccountsFile == "" && len(cfg.Regions) == 0 {
		return nil // the accounts row says so
	}
	file, err := ec2ops.LoadAccountsFile(cfg.AccountsFile, cfg.Regions)
	if err != nil || len(file.Accounts) == 0 {
		return nil // the accounts row says so; an organization's accounts are found at start
	}
	accounts := file.Accounts
	awsCfg, err := loadAWSConfig(ctx, cfg, cmp.Or(cfg.AWSRegion, accounts[0].Regions[0]), readBuildInfo())
	if err != nil {
		return []check{{Check: "aws configuration", Fix: err.Error()}}
	}
	fleet, err := ec2ops.New(awsCfg, accounts, ec2ops.Options{})
	if err != nil {
		return []check{{Check: "aws accounts", Fix: err.Error()}}
	}
	var out []check
	for _, a := range accounts {
		for i, region := range a.Regions {
			pctx, cancel := context.WithTimeout(ctx, doctorTimeout)
			p, err := fleet.Probe(pctx, a.Name, region)
			cancel()
			where := a.Name + " " + region
			if err != nil {
				out = append(out, check{Check: "aws " + where, Fix: err.Error()})
				continue
			}
			// Credentials are per account (shared by its regions): one row,
			// and no region is tried without them.
			if i == 0 {
				out = append(out, credentialsCheck(a, p))
			}
			if p.Credentials != nil {
				break
			}
			out = append(out, describeCheck(a, p))
		}
	}
	return out
}

func credentialsCheck(a ec2ops.Account, p ec2ops.Probe) check {
	if a.RoleARN == "" {
		c := check{Check: "aws " + a.Name + " credentials", OK: p.Credentials == nil, Detail: "the ambient AWS credentials"}
		if !c.OK {
			c.Detail = "no usable AWS credentials"
			c.Fix = "set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run where an instance or task role is attached"
		}
		return c
	}
	c := check{Check: "aws " + a.Name + " AssumeRole", OK: p.Credentials == nil, Detail: a.RoleARN}
	if c.OK {
		return c
	}
	var e *ec2ops.Error
	if errors.As(p.Credentials, &e) && e.Kind == ec2ops.KindTimeout {
		c.Detail = "AWS did not answer AssumeRole in time"
		c.Fix = "check the network path to STS (AWS_ENDPOINT_URL if set)"
		return c
	}
	c.Detail = "AssumeRole " + a.RoleARN + " was refused"
	fix := "allow Charlize's credentials sts:AssumeRole on " + a.RoleARN +
		", and make the role's trust policy name them as principal"
	if a.ExternalID != "" {
		fix += fmt.Sprintf(" with the condition sts:ExternalId = %q (this account's external_id)", a.ExternalID)
	} else {
		fix += "; if the trust policy requires an sts:ExternalId, set external_id for " + a.Name + " in the accounts file"
	}
	c.Fix = fix
	return c
}

func describeCheck(a ec2ops.Account, p ec2ops.Probe) check {
	c := check{Check: "aws " + a.Name + " " + p.Region + " DescribeInstances", OK: p.Describe == nil, Detail: "dry run allowed"}
	if c.OK {
		return c
	}
	var e *ec2ops.Error
	if !errors.As(p.Describe, &e) {
		c.Fix = p.Describe.Error()
		return c
	}
	c.Detail = e.UserMessage()
	switch e.Kind {
	case ec2ops.KindAccessDenied:
		who := "Charlize's AWS credentials"
		if a.RoleARN != "" {
			who = "the role " + a.RoleARN
		}
		action := e.IAMAction
		if action == "" {
			action = "ec2:DescribeInstances"
		}
		c.Fix = fmt.Sprintf("grant %s %s (and ec2:DescribeInstanceAttribute, ec2:StartInstances, ec2:StopInstances, ec2:RebootInstances, ec2:TerminateInstances for the actions) in %s",
			who, action, p.Region)
	case ec2ops.KindTimeout:
		c.Fix = "check the network path to EC2 in " + p.Region
	default:
		c.Fix = "see the detail; the region may not be enabled for this account"
	}
	return c
}
