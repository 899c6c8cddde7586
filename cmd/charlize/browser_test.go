package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/charlize-app/charlize/handlers/slacktest"
)

// browserDir holds the Playwright tests and their node_modules.
const browserDir = "testdata/browser"

// TestBrowser runs testdata/browser/console.test.mjs in Debian's Chromium
// through playwright-core, against `charlize demo` and a multi-workspace
// Charlize's install pages. It needs node, chromium and `npm ci` in
// testdata/browser, which .ci/run installs. Plain `go test` skips it; with
// CHARLIZE_BROWSER_TESTS=1 (CI) it runs, and a missing piece fails it.
// Screenshots of failures are printed to the log as base64 PNGs;
// CHARLIZE_SCREENSHOT_DIR keeps every screenshot taken.
func TestBrowser(t *testing.T) {
	if os.Getenv("CHARLIZE_BROWSER_TESTS") != "1" {
		t.Skip("browser tests run with CHARLIZE_BROWSER_TESTS=1 (as .ci/run sets it), with node, chromium and playwright-core installed")
	}
	missing := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("CHARLIZE_BROWSER_TESTS=1 but the browser tests need "+format+" (.ci/run installs them)", args...)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		missing("node on PATH")
	}
	chromium := os.Getenv("CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	if _, err := os.Stat(chromium); err != nil {
		missing("Chromium at %s (apt-get install chromium)", chromium)
	}
	if _, err := os.Stat(filepath.Join(browserDir, "node_modules", "playwright-core")); err != nil {
		missing("playwright-core (cd cmd/charlize/%s && npm ci)", browserDir)
	}

	d := mustStartDemo(t)
	install := mustStartInstallable(t)
	shots := os.Getenv("CHARLIZE_SCREENSHOT_DIR")
	if shots == "" {
		shots = t.TempDir()
	} else if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "--test", "--test-reporter=spec", "console.test.mjs")
	cmd.Dir = browserDir
	cmd.Env = append(os.Environ(), "DEMO_URL="+d.url, "INSTALL_URL="+install, "CHROMIUM="+chromium, "SCREENSHOT_DIR="+shots)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	t.Logf("node --test console.test.mjs:\n%s", out.String())
	if err == nil {
		return
	}
	failed, _ := filepath.Glob(filepath.Join(shots, "FAILED-*.png"))
	for _, f := range failed {
		png, readErr := os.ReadFile(f)
		if readErr != nil {
			continue
		}
		t.Logf("screenshot %s (base64 PNG; decode with: base64 -d > shot.png):\n%s", filepath.Base(f), wrap(base64.StdEncoding.EncodeToString(png), 120))
	}
	t.Fatalf("browser tests failed: %v", err)
}

func wrap(s string, width int) string {
	var b strings.Builder
	for len(s) > width {
		b.WriteString(s[:width] + "\n")
		s = s[width:]
	}
	b.WriteString(s)
	return b.String()
}

// mustStartInstallable runs Charlize in multi-workspace mode ("Add to
// Slack") against the fake Slack API, for the install pages' test.
func mustStartInstallable(t *testing.T) string {
	t.Helper()
	api := slacktest.NewAPI(t)
	a := mustStart(t, map[string]string{
		"SLACK_CLIENT_ID":         "1234.5678",
		"SLACK_CLIENT_SECRET":     "browser-test-client-secret",
		"CHARLIZE_ENCRYPTION_KEY": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
		"SLACK_API_URL":           api.APIURL(),
	})
	return a.url
}
