package handlers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image/png"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/charlize-app/charlize/blocks"
	"github.com/charlize-app/charlize/blocks/graph"
	"github.com/charlize-app/charlize/ec2ops"
	"github.com/charlize-app/charlize/ec2ops/ec2sim"
	"github.com/charlize-app/charlize/handlers/slacktest"
)

// The instance card: the graph after the card, stop protection, dry runs
// and the console output, end to end.

// metricsGate holds every GetMetricData request until opened, so a test
// sees the card before its graph.
type metricsGate struct {
	open chan struct{}
	once sync.Once
}

func newMetricsGate() *metricsGate { return &metricsGate{open: make(chan struct{})} }

func (g *metricsGate) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/operation/GetMetricData") {
			select {
			case <-g.open:
			case <-r.Context().Done():
				return
			}
		}
		h.ServeHTTP(w, r)
	})
}

func (g *metricsGate) release() { g.once.Do(func() { close(g.open) }) }

// graphFileID is the file a card's image block shows, or "".
func graphFileID(m slack.WebhookMessage) string {
	if m.Blocks == nil {
		return ""
	}
	for _, b := range m.Blocks.BlockSet {
		if img, ok := b.(*slack.ImageBlock); ok && img.BlockID == blocks.CardGraphBlock && img.SlackFile != nil {
			return img.SlackFile.ID
		}
	}
	return ""
}

// cardLine is the text of the card's context block id, or "".
func cardLine(m slack.WebhookMessage, id string) string {
	if m.Blocks == nil {
		return ""
	}
	for _, b := range m.Blocks.BlockSet {
		if c, ok := b.(*slack.ContextBlock); ok && c.BlockID == id {
			raw, _ := json.Marshal(c)
			return string(raw)
		}
	}
	return ""
}

// dumpPayloads writes what the fake Slack received to $CHARLIZE_PAYLOAD_DIR
// (when set), for the independent Block Kit checker.
func dumpPayloads(t *testing.T, name string, v ...any) {
	dir := os.Getenv("CHARLIZE_PAYLOAD_DIR")
	if dir == "" {
		return
	}
	for i, p := range v {
		raw, err := json.MarshalIndent(p, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%s_%d.json", name, i)), raw, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestCardGraphAfterTheCard(t *testing.T) {
	t.Parallel()
	gate := newMetricsGate()
	defer gate.release()
	w := newWorld(t, worldOptions{wrapSim: gate.wrap})
	if status, _ := w.command(alice, "status web-1", "card1"); status != http.StatusOK {
		t.Fatalf("status = %d", status)
	}
	// The card comes while CloudWatch has not answered yet.
	first := w.waitForURLText("card1", "acts:0", 10*time.Second)
	if line := cardLine(first, blocks.CardGraphBlock); !strings.Contains(line, "Drawing the CPU graph") {
		t.Fatalf("first card's graph line = %q, want it being drawn", line)
	}
	if n := len(w.slack.Files()); n != 0 {
		t.Fatalf("%d uploads before the card was shown", n)
	}
	gate.release()

	card := w.settledCard("card1")
	files := w.slack.Files()
	if len(files) != 1 || !files[0].Completed {
		t.Fatalf("uploads = %+v, want one completed", files)
	}
	if got := graphFileID(card); got != files[0].ID {
		t.Fatalf("card shows file %q, want the uploaded %q:\n%s", got, files[0].ID, messageText(card))
	}
	if len(files[0].Channels) != 0 {
		t.Errorf("graph shared to %v: it would post a file message there", files[0].Channels)
	}
	img, err := png.Decode(bytes.NewReader(files[0].Data))
	if err != nil {
		t.Fatalf("uploaded file is not a PNG: %v", err)
	}
	if b := img.Bounds(); b.Dx() != graph.PixelWidth || b.Dy() != graph.PixelHeight {
		t.Errorf("graph is %v, want %dx%d", b, graph.PixelWidth, graph.PixelHeight)
	}
	if alt := files[0].AltText; !strings.Contains(alt, "CPU utilisation of web-1 over the last 3 h") {
		t.Errorf("alt text = %q", alt)
	}
	// The card is edited, not posted again, and keeps its buttons.
	posts := w.urlPosts("card1")
	if len(posts) != 2 {
		t.Errorf("%d posts to the response_url, want the card and its edit", len(posts))
	}
	for _, m := range posts {
		if !m.ReplaceOriginal {
			t.Errorf("a post did not replace the card: %s", messageText(m))
		}
	}
	if stop := mustButton(t, card, "act:stop", ""); stop.value != mustButton(t, first, "act:stop", "").value {
		t.Error("the edit changed the card's buttons")
	}
	checkRendered(t, posts...)
	dumpPayloads(t, "card_graph", posts[0], posts[len(posts)-1])

	// A second look within the cache's time shows the graph at once.
	again := w.instanceCard("web-1", "card2")
	if graphFileID(again) != files[0].ID || len(w.urlPosts("card2")) != 1 || len(w.slack.Files()) != 1 {
		t.Errorf("second card: file %q, %d posts, %d uploads; want the cached graph in the first post", graphFileID(again), len(w.urlPosts("card2")), len(w.slack.Files()))
	}
}

// TestCardGraphOnceForTen: ten people opening one card at once make one
// GetMetricData and one upload, and every card shows it.
func TestCardGraphOnceForTen(t *testing.T) {
	t.Parallel()
	gate := newMetricsGate()
	defer gate.release()
	w := newWorld(t, worldOptions{wrapSim: gate.wrap})
	var wg sync.WaitGroup
	errs := make(chan error, 10)
	for i := range 10 {
		wg.Go(func() {
			user := fmt.Sprintf("U0USER%02d", i)
			rep, err := w.send(w.commandRequest(user, "status web-1", fmt.Sprintf("ten%d", i)))
			if err == nil && rep.status != http.StatusOK {
				err = fmt.Errorf("status = %d", rep.status)
			}
			if err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for i := range 10 {
		w.waitForURLText(fmt.Sprintf("ten%d", i), "acts:0", 10*time.Second)
	}
	gate.release()
	ids := map[string]bool{}
	for i := range 10 {
		ids[graphFileID(w.settledCard(fmt.Sprintf("ten%d", i)))] = true
	}
	if n := w.slack.CompletedFiles(); n != 1 {
		t.Errorf("%d uploads for ten cards of one instance, want 1", n)
	}
	if n := w.sim.Calls("GetMetricData"); n != 1 {
		t.Errorf("%d GetMetricData for ten cards of one instance, want 1", n)
	}
	if len(ids) != 1 || ids[""] {
		t.Errorf("cards show files %v, want all the one upload", ids)
	}
}

func TestCardWithoutGraph(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name, instance string
		setup          func(w *world)
		want           string
	}{
		{"stopped for hours", "old-1", nil, "No CPU graph: CloudWatch has no data for old-1 in the last 3 h."},
		{"no permission", "web-1", func(w *world) { w.sim.Deny(acctProd, "GetMetricData") }, "lacks cloudwatch:GetMetricData"},
		{"no files:write", "web-1", func(w *world) { w.slack.Fail("files.getUploadURLExternal", "missing_scope", 1) }, "needs the `files:write` scope"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, worldOptions{})
			if tt.setup != nil {
				tt.setup(w)
			}
			card := w.instanceCard(tt.instance, "card1")
			if line := cardLine(card, blocks.CardGraphBlock); !strings.Contains(line, tt.want) {
				t.Errorf("graph line = %s, want %q", line, tt.want)
			}
			if graphFileID(card) != "" || w.slack.CompletedFiles() != 0 {
				t.Error("a card without metrics shows or uploads an image")
			}
			checkRendered(t, w.urlPosts("card1")...)
		})
	}
}

func TestCardInChannelGetsGraphByChatUpdate(t *testing.T) {
	t.Parallel()
	gate := newMetricsGate()
	defer gate.release()
	w := newWorld(t, worldOptions{wrapSim: gate.wrap, graphTTL: time.Nanosecond})
	gate.release()
	status := mustButton(t, w.instanceCard("web-1", "card1"), "act:status", "")
	// The card was shared in the channel: Charlize posted it there.
	api := w.slack.Client(slacktest.BotToken)
	_, ts, err := api.PostMessage(channel, slack.MsgOptionText("web-1 running", false))
	if err != nil {
		t.Fatal(err)
	}
	w.clickFrom(bob, status, "shared1", clickFrom{messageTS: ts})
	// The card may come in one edit with its graph or, when the graph is
	// slow (a loaded machine), in two: the graph's edit is the one asked for.
	last := w.waitForText("chat.update", `slack_file`, 10*time.Second)
	if last.Error != "" || last.Form.Get("ts") != ts {
		t.Fatalf("chat.update = %s (%s), want the shared card edited with its graph", callText(last), last.Error)
	}
}

func TestCardKeyTagsAndSchedule(t *testing.T) {
	t.Parallel()
	f := defaultFixture()
	inst := &f.Accounts[0].Regions["eu-west-1"][0]
	inst.Tags = map[string]string{"Name": "web-1", "env": "prod", "owner": "alice", "cost-center": "cc-42", "noise": "x"}
	inst.PublicIP = "34.240.1.2"
	w := newWorld(t, worldOptions{fixture: f, cardTags: []string{"cost-center"},
		schedule: func(_ context.Context, i ec2ops.Instance) string {
			if i.Name == "web-1" {
				return "stops weekdays at 19:00 Europe/Paris"
			}
			return ""
		}})
	card := w.instanceCard("web-1", "card1")
	text := messageText(card)
	for _, want := range []string{"env `prod` · owner `alice` · cost-center `cc-42`", "stops weekdays at 19:00 Europe/Paris",
		"34.240.1.2\\nec2-34-240-1-2.eu-west-1.compute.amazonaws.com"} {
		if !strings.Contains(text, want) {
			t.Errorf("card lacks %s:\n%s", want, text)
		}
	}
	if strings.Contains(text, "noise") {
		t.Error("card shows a tag nobody asked for")
	}
}

func TestStopProtectedCard(t *testing.T) {
	t.Parallel()
	f := defaultFixture()
	f.Accounts[0].Regions["eu-west-1"][1].DisableAPIStop = true // web-2
	w := newWorld(t, worldOptions{fixture: f})
	card := w.instanceCard("web-2", "card1")
	text := messageText(card)
	if !strings.Contains(text, `*Stop protection*\non`) {
		t.Errorf("card does not show stop protection:\n%s", text)
	}
	for _, b := range buttons(card.Blocks.BlockSet) {
		if strings.HasPrefix(b.actionID, "act:stop") || strings.HasPrefix(b.actionID, "act:restart") {
			t.Errorf("stop-protected card offers %s", b.actionID)
		}
	}
	mustButton(t, card, "act:reboot", "") // what protection allows stays

	// `/charlize stop web-2` says why there is no Stop.
	if status, _ := w.command(alice, "stop web-2", "ask1"); status != http.StatusOK {
		t.Fatal(status)
	}
	asked := w.settledCard("ask1")
	if note := cardLine(asked, "card_note"); !strings.Contains(note, "stop protection is on for web-2") || !strings.Contains(note, "--no-disable-api-stop") {
		t.Errorf("stop command note = %s, want the protection named with the CLI that lifts it", note)
	}
}

// TestStopProtectionRacedClick: protection switched on after the card was
// shown gets the protection message, not AWS's raw refusal, and nothing
// is stopped.
func TestStopProtectionRacedClick(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{})
	stop := mustButton(t, w.instanceCard("web-1", "card1"), "act:stop", "")
	inst, _ := w.sim.Get(acctProd, "eu-west-1", "i-0000000000000a001")
	inst.DisableAPIStop = true
	w.sim.Put(acctProd, "eu-west-1", inst)

	w.clickFrom(alice, stop, "click1", clickFrom{})
	got := w.waitForURLText("click1", "stop protection is on for web-1", 10*time.Second)
	if text := messageText(got); !strings.Contains(text, "aws ec2 modify-instance-attribute --region eu-west-1 --instance-id i-0000000000000a001 --no-disable-api-stop") ||
		strings.Contains(text, "AWS does not allow") {
		t.Errorf("raced click answer = %s", text)
	}
	if n := w.sim.Calls("StopInstances"); n != 0 {
		t.Errorf("StopInstances = %d, want 0", n)
	}
}

// TestDryRunRefusalOnTheCard: a role that may not reboot gets no Reboot
// button (so no confirm dialog), and the card names the IAM action and
// the role.
func TestDryRunRefusalOnTheCard(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{})
	w.sim.Deny(acctProd, "RebootInstances")
	card := w.instanceCard("web-1", "card1")
	for _, b := range buttons(card.Blocks.BlockSet) {
		if strings.HasPrefix(b.actionID, "act:reboot") {
			t.Fatalf("card offers Reboot, which the role may not do")
		}
	}
	mustButton(t, card, "act:stop", "")
	notice := cardLine(card, blocks.CardNoticesBlock)
	if !strings.Contains(notice, "Reboot is not offered: the role arn:aws:iam::111111111111:role/charlize lacks ec2:RebootInstances in acme-prod (eu-west-1)") {
		t.Errorf("notice = %s", notice)
	}
	if n := w.sim.Calls("RebootInstances"); n != 0 {
		t.Errorf("RebootInstances = %d, want 0 (only a dry run)", n)
	}
	if n := w.sim.DryRuns("RebootInstances"); n != 1 {
		t.Errorf("reboot dry runs = %d, want 1", n)
	}
	for _, c := range w.sim.CallLog() {
		if c.DryRun && c.SessionName != "slack-"+alice {
			t.Errorf("dry run %s as %q, want alice's session", c.Action, c.SessionName)
		}
	}
	checkRendered(t, card)
}

func TestConsoleOutputModal(t *testing.T) {
	t.Parallel()
	var long strings.Builder
	for i := range 3000 {
		fmt.Fprintf(&long, "[%8d.%06d] systemd[1]: Started unit %d & <friends>.\r\n", i, i, i)
	}
	for _, tt := range []struct {
		name  string
		out   []byte
		fault string // AWS's error code for GetConsoleOutput
		want  []string
	}{
		{"long", []byte(long.String()), "", []string{"Started unit 2999 \\u0026amp; \\u0026lt;friends\\u0026gt;.", "of 3000 lines"}},
		{"binary", []byte("ok\x00\x1b[31mred\x1b[0m \xff\xfe\x01 ``` <!channel>\r\nprompt# "), "", []string{"okred \uFFFD ˋˋˋ \\u0026lt;!channel\\u0026gt;", "prompt#"}},
		{"empty", []byte{}, "", []string{"AWS has no console output for web-1 yet"}},
		// Why, in the same words as anywhere else, not "something went wrong".
		{"refused", []byte("unseen"), "UnauthorizedOperation", []string{"❌", "lacks ec2:GetConsoleOutput in acme-prod (eu-west-1)"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, worldOptions{})
			w.sim.SetConsoleOutput(acctProd, "eu-west-1", "i-0000000000000a001", tt.out)
			if tt.fault != "" {
				w.sim.AddFault(ec2sim.Fault{Action: "GetConsoleOutput", Code: tt.fault})
			}
			console := mustButton(t, w.instanceCard("web-1", "card1"), "console:0", "Console output")
			before := len(w.sim.CallLog())
			if rep := w.clickFrom(alice, console, "click1", clickFrom{}); rep.status != http.StatusOK || len(rep.body) != 0 {
				t.Fatalf("console click = %d %q", rep.status, rep.body)
			}
			// The loading modal is open when the click is answered, before AWS.
			opened := w.slack.Calls("views.open")
			if len(opened) != 1 || opened[0].Error != "" || !strings.Contains(viewText(opened[0].View), "Reading the console output") {
				t.Fatalf("views.open = %+v, want the loading modal", opened)
			}
			for _, c := range w.sim.CallLog()[before:] {
				if c.Time.Before(opened[0].Time) {
					t.Errorf("AWS %s came before views.open", c.Action)
				}
			}
			filled := w.openedView("views.update", 1)
			text := viewText(filled)
			for _, want := range tt.want {
				if !strings.Contains(text, want) {
					t.Errorf("modal lacks %q:\n%s", want, text)
				}
			}
			if strings.Contains(text, "\\u001b") || strings.Contains(text, "\\u0000") || strings.Contains(text, "<!channel>") {
				t.Errorf("modal carries control characters or a live mention:\n%s", text)
			}
			m := slack.ModalViewRequest{Type: filled.Type, Title: filled.Title, Close: filled.Close, CallbackID: filled.CallbackID, Blocks: filled.Blocks}
			if err := blocks.CheckModal(m); err != nil {
				t.Errorf("console modal breaks Block Kit limits: %v", err)
			}
			dumpPayloads(t, "console_"+tt.name, m)
		})
	}
}

// TestConsoleRefusedByPolicy: a policy that names console decides it,
// before any modal or AWS call.
func TestConsoleRefusedByPolicy(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{policy: `rules:
  - name: everyone-reads
    who: {users: ["*"]}
    actions: [list, status]
  - name: sre-console
    who: {users: [` + bob + `]}
    actions: [console]
`})
	card := w.instanceCard("web-1", "card1")
	for _, b := range buttons(card.Blocks.BlockSet) {
		if b.actionID == "console:0" {
			t.Fatal("alice's card offers Console output, which the policy does not grant her")
		}
	}
	// A forged click with the card's value is refused too.
	value := mustButton(t, card, "act:status", "").value
	before := len(w.sim.CallLog())
	w.clickFrom(alice, button{actionID: "console:0", blockID: "acts:0", value: value}, "click1", clickFrom{})
	got := w.waitForURLText("click1", "You can't read the console output of web-1: no rule grants console on acme-prod to you.", 10*time.Second)
	if got.ResponseType != "ephemeral" {
		t.Errorf("refusal = %+v, want ephemeral", got)
	}
	if n := len(w.slack.Calls("views.open")); n != 0 {
		t.Errorf("views.open = %d, want 0", n)
	}
	if calls := w.sim.CallLog()[before:]; len(calls) != 0 {
		t.Errorf("refused console reached AWS: %+v", calls)
	}
}
