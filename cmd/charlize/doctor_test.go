package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/charlize-app/charlize/ec2ops/ec2sim"
	"github.com/charlize-app/charlize/handlers/slacktest"
)

// doctorWorld is a configuration doctor can check end to end: the demo
// fleet's two accounts behind roles in the simulator, and the fake Slack.
type doctorWorld struct {
	sim *ec2sim.Sim
	api *slacktest.API
	env map[string]string
}

func newDoctorWorld(t *testing.T) *doctorWorld {
	t.Helper()
	fleet, err := ec2sim.Demo()
	if err != nil {
		t.Fatal(err)
	}
	sim := ec2sim.New(ec2sim.Options{})
	if err := sim.Load(fleet); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	api := slacktest.NewAPI(t)
	return &doctorWorld{sim: sim, api: api, env: map[string]string{
		"SLACK_SIGNING_SECRET":   testSecret,
		"SLACK_BOT_TOKEN":        slacktest.BotToken,
		"SLACK_API_URL":          api.APIURL(),
		"AWS_ENDPOINT_URL":       srv.URL,
		"AWS_ACCESS_KEY_ID":      "AKIDDOCTOR",
		"AWS_SECRET_ACCESS_KEY":  "doctor-secret-key",
		"AWS_REGION":             "us-east-1",
		"CHARLIZE_ACCOUNTS_FILE": "../../ec2ops/ec2sim/testdata/accounts.yaml",
		"CHARLIZE_DATA_DIR":      t.TempDir(),
	}}
}

// doctor runs "charlize doctor args…" and returns its exit status and output.
func (w *doctorWorld) doctor(t *testing.T, args ...string) (int, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), append([]string{"doctor"}, args...), func(k string) string { return w.env[k] }, &out, &errOut)
	for _, secret := range []string{testSecret, slacktest.BotToken, "doctor-secret-key", "AKIDDOCTOR"} {
		if strings.Contains(out.String()+errOut.String(), secret) {
			t.Errorf("doctor printed a secret (%s…)", secret[:6])
		}
	}
	return exitCode(err), out.String()
}

// row returns the line of the table whose check is name.
func row(t *testing.T, table, name string) string {
	t.Helper()
	for _, line := range strings.Split(table, "\n") {
		if strings.HasPrefix(line, name+" ") {
			return line
		}
	}
	t.Fatalf("no %q row in:\n%s", name, table)
	return ""
}

func TestDoctorAllGood(t *testing.T) {
	w := newDoctorWorld(t)
	code, out := w.doctor(t)
	if code != 0 || strings.Contains(out, "❌") {
		t.Fatalf("doctor on a good configuration exited %d:\n%s", code, out)
	}
	for _, name := range []string{
		"aws acme-prod AssumeRole", "aws acme-prod us-east-1 DescribeInstances", "aws acme-prod eu-west-1 DescribeInstances",
		"aws acme-staging AssumeRole", "aws acme-staging us-east-1 DescribeInstances", "aws acme-staging eu-west-1 DescribeInstances",
	} {
		if r := row(t, out, name); !strings.Contains(r, "✅") {
			t.Errorf("row %q is not ✅: %s", name, r)
		}
	}
	if r := row(t, out, "slack auth.test"); !strings.Contains(r, slacktest.TeamName) || !strings.Contains(r, slacktest.BotUserID) {
		t.Errorf("auth.test row does not name the workspace and bot: %s", r)
	}
	if r := row(t, out, "CHARLIZE_ACCOUNTS_FILE"); !strings.Contains(r, "environment: ../../ec2ops") {
		t.Errorf("variable row does not give the value and its source: %s", r)
	}
	if r := row(t, out, "LOG_LEVEL"); !strings.Contains(r, "default") {
		t.Errorf("unset variable row does not say default: %s", r)
	}
	if got := w.sim.Calls("AssumeRole"); got != 2 {
		t.Errorf("doctor made %d AssumeRole calls, want one per account (2)", got)
	}
}

// A role whose trust policy refuses Charlize is ❌ with the fix; the other
// account stays ✅, and doctor exits 1.
func TestDoctorRefusedRole(t *testing.T) {
	w := newDoctorWorld(t)
	w.sim.AddFault(ec2sim.Fault{Account: "210987654321", Action: "AssumeRole", Code: "AccessDenied"})
	code, out := w.doctor(t)
	if code != 1 {
		t.Errorf("doctor with a refused role exited %d, want 1:\n%s", code, out)
	}
	refused := row(t, out, "aws acme-staging AssumeRole")
	for _, want := range []string{"❌", "sts:AssumeRole", "arn:aws:iam::210987654321:role/charlize", "trust policy", "ExternalId"} {
		if !strings.Contains(refused, want) {
			t.Errorf("refused row lacks %q: %s", want, refused)
		}
	}
	if r := row(t, out, "aws acme-prod AssumeRole"); !strings.Contains(r, "✅") {
		t.Errorf("the other account is not ✅: %s", r)
	}
	if strings.Contains(out, "aws acme-staging us-east-1 DescribeInstances") {
		t.Error("DescribeInstances was reported for an account without credentials")
	}

	code, raw := w.doctor(t, "--json")
	var report doctorReport
	if err := json.Unmarshal([]byte(raw), &report); err != nil || code != 1 || report.OK {
		t.Fatalf("--json = exit %d, ok %v, err %v:\n%s", code, report.OK, err, raw)
	}
	var failed []string
	for _, c := range report.Checks {
		if !c.OK {
			failed = append(failed, c.Check)
			if c.Fix == "" {
				t.Errorf("failed check %s has no fix", c.Check)
			}
		}
	}
	if strings.Join(failed, ",") != "aws acme-staging AssumeRole" {
		t.Errorf("failed checks = %v, want only acme-staging's AssumeRole", failed)
	}
}

func TestDoctorFindsProblems(t *testing.T) {
	w := newDoctorWorld(t)
	pol := filepath.Join(t.TempDir(), "policy.yaml")
	if err := os.WriteFile(pol, []byte("rules:\n  - name: sre\n    who: {usergroups: [S0SRE]}\n    actions: [list, stop]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	w.env["CHARLIZE_POLICY_FILE"] = pol
	w.env["LOG_LEVEL"] = "loud"
	w.sim.AddFault(ec2sim.Fault{Account: "123456789012", Region: "eu-west-1", Action: "DescribeInstances", Code: "UnauthorizedOperation"})
	code, out := w.doctor(t)
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	for name, want := range map[string]string{
		"LOG_LEVEL":    "must be debug, info, warn or error",
		"slack scopes": "usergroups:read",
		"aws acme-prod eu-west-1 DescribeInstances": "ec2:DescribeInstances",
	} {
		if r := row(t, out, name); !strings.Contains(r, "❌") || !strings.Contains(r, want) {
			t.Errorf("row %s = %q, want ❌ and %q", name, r, want)
		}
	}
	if r := row(t, out, "aws acme-prod us-east-1 DescribeInstances"); !strings.Contains(r, "✅") {
		t.Errorf("the refused region's neighbour is not ✅: %s", r)
	}
}
