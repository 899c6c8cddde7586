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
	ctx, cancel := context.WithCancel(context.Background())
	logs := &syncBuffer{}
	exited := make(chan error, 1)
	go func() {
		exited <- run(ctx, []string{"simulate", "--addr", "127.0.0.1:0"}, func(string) string { return "" }, io.Discard, logs)
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-exited; err != nil {
			t.Errorf("simulate exited with %v", err)
		}
	})
	addr := regexp.MustCompile(`addr=(\S+)`)
	deadline := time.Now().Add(10 * time.Second)
	var simURL string
	for simURL == "" {
		if m := addr.FindStringSubmatch(logs.String()); m != nil {
			simURL = "http://" + m[1]
		} else if time.Now().After(deadline) {
			t.Fatalf("simulator did not start; logs: %s", logs)
		} else {
			time.Sleep(10 * time.Millisecond)
		}
	}

	api := slacktest.NewAPI(t)
	a := mustStart(t, map[string]string{
		"SLACK_BOT_TOKEN":        slacktest.BotToken,
		"SLACK_API_URL":          api.APIURL(),
		"AWS_ENDPOINT_URL":       simURL,
		"AWS_ACCESS_KEY_ID":      "demo",
		"AWS_SECRET_ACCESS_KEY":  "demo",
		"AWS_REGION":             "us-east-1",
		"CHARLIZE_ACCOUNTS_FILE": "../../ec2ops/ec2sim/testdata/accounts.yaml",
	})
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
