package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/charlize-app/charlize/handlers/slacktest"
)

// The README's try-it-without-AWS recipe: `charlize simulate`, then
// `charlize serve` pointed at it with the demo accounts file, answers
// /charlize list from the demo fleet through both accounts' roles.
func TestSimulateDemo(t *testing.T) {
	simURL := mustSimulate(t)

	api := slacktest.NewAPI(t)
	a := mustServeSimulated(t, simURL, api, "accounts.yaml")
	req := slacktest.FormRequest(a.url+"/slack/commands", testSecret, slacktest.Command("T0001", "U0001", "list *web*", api.ResponseURL("demo")))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	raw, _ := json.Marshal(api.WaitFor(t, slacktest.MethodResponseURL, 1, 10*time.Second)[0].Message)
	for _, name := range []string{"prod-web-1", "prod-web-2", "staging-web-1"} {
		if !strings.Contains(string(raw), name) {
			t.Errorf("demo list lacks %s: %s", name, raw)
		}
	}
}

// The organization recipe of the README: a generated organization served
// by `charlize simulate --generate … --organization`, discovered at start
// by `charlize serve` with testdata/organization.yaml.
func TestSimulateOrganization(t *testing.T) {
	simURL := mustSimulate(t, "--generate", "30x2x1", "--organization")
	api := slacktest.NewAPI(t)
	a := mustServeSimulated(t, simURL, api, "organization.yaml")
	req := slacktest.FormRequest(a.url+"/slack/commands", testSecret, slacktest.Command("T0001", "U0001", "accounts", api.ResponseURL("org")))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{"30 accounts", "page 1 of 2", "team-001", "organization"} {
		if !strings.Contains(string(raw), want) {
			t.Errorf("/charlize accounts lacks %q: %s", want, raw)
		}
	}
	req = slacktest.FormRequest(a.url+"/slack/commands", testSecret, slacktest.Command("T0001", "U0001", "list account:team-030", api.ResponseURL("list")))
	if resp, err = http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	raw, _ = json.Marshal(api.WaitFor(t, slacktest.MethodResponseURL, 1, 10*time.Second)[0].Message)
	if !strings.Contains(string(raw), "2 instances") {
		t.Errorf("list account:team-030 = %s, want its 2 instances", raw)
	}
}

// mustServeSimulated starts Charlize on the simulator at simURL with the
// accounts file of ec2ops/ec2sim/testdata named accounts, as the README's
// recipes do.
func mustServeSimulated(t *testing.T, simURL string, api *slacktest.API, accounts string) *process {
	t.Helper()
	return mustStart(t, map[string]string{
		"SLACK_BOT_TOKEN":        slacktest.BotToken,
		"SLACK_API_URL":          api.APIURL(),
		"AWS_ENDPOINT_URL":       simURL,
		"AWS_ACCESS_KEY_ID":      "demo",
		"AWS_SECRET_ACCESS_KEY":  "demo",
		"AWS_REGION":             "us-east-1",
		"CHARLIZE_ACCOUNTS_FILE": "../../ec2ops/ec2sim/testdata/" + accounts,
	})
}

// mustSimulate runs `charlize simulate args…` on a free port until the
// test ends and returns its URL.
func mustSimulate(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	logs := &syncBuffer{}
	exited := make(chan error, 1)
	go func() {
		exited <- run(ctx, append([]string{"simulate", "--addr", "127.0.0.1:0"}, args...), func(string) string { return "" }, io.Discard, logs)
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-exited; err != nil {
			t.Errorf("simulate exited with %v", err)
		}
	})
	addr := regexp.MustCompile(`addr=(\S+)`)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if m := addr.FindStringSubmatch(logs.String()); m != nil {
			return "http://" + m[1]
		}
		if time.Now().After(deadline) {
			t.Fatalf("simulator did not start; logs: %s", logs)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
