package handlers_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/slack-go/slack"

	"github.com/charlize-app/charlize/blocks"
	"github.com/charlize-app/charlize/ec2ops/ec2sim"
	"github.com/charlize-app/charlize/store"
)

// Defect: a button value or modal private_metadata from one kind of flow
// was accepted by another: a status card's session as terminate-modal
// metadata terminated without the modal ever being shown, and Refresh
// listed everything from it. Each is refused as an unreadable button and
// audited, and nothing reaches AWS.
func TestValuesBoundToTheirFlow(t *testing.T) {
	eachStore(t, func(t *testing.T, redis bool) {
		w := newWorld(t, worldOptions{redis: redis})
		card := w.instanceCard("web-1", "kinds-card")
		stop := mustButton(t, card, "act:stop", "")
		cardSession, _, _ := strings.Cut(stop.value, ".")
		w.command(alice, "list web*", "kinds-list")
		list := w.urlPost("kinds-list", waitResult)
		listStatus := mustStatusOf(t, list, "web-2")

		refusedAudit := func(desc, presented string) {
			t.Helper()
			w.waitAudit(desc, func(e store.AuditEntry) bool {
				return e.UserID == alice && e.Decision == store.DecisionRefused && e.Result == store.ResultRefused &&
					strings.Contains(e.Error, "was presented for "+presented)
			})
		}

		// Card value as terminate metadata
		{
			v := &slack.View{CallbackID: blocks.TerminateCallbackID, PrivateMetadata: cardSession,
				Blocks: slack.Blocks{BlockSet: []slack.Block{slack.NewInputBlock(blocks.TerminateInputBlock,
					slack.NewTextBlockObject(slack.PlainTextType, "Type web-1 to confirm", false, false), nil,
					slack.NewPlainTextInputBlockElement(nil, blocks.TerminateInputAction))}}}
			rep := w.submitView(alice, v, map[string]map[string]any{
				blocks.TerminateInputBlock: {blocks.TerminateInputAction: textInput("web-1")},
			})
			var errs slack.ViewSubmissionResponse
			rep.json(t, &errs)
			if rep.status != http.StatusOK || errs.ResponseAction != slack.RAErrors || !strings.Contains(errs.Errors[blocks.TerminateInputBlock], "couldn't read that button") {
				t.Errorf("submit = %d %s, want an unreadable-button error on the input", rep.status, rep.body)
			}
			refusedAudit("terminate from a card's value", "terminate")
		}

		// Card value as refresh
		{
			w.clickFrom(alice, button{actionID: blocks.ActionIDRefresh, blockID: "list_nav", value: cardSession}, "kinds-refresh", clickFrom{})
			if got := w.urlPost("kinds-refresh", waitResult); !strings.Contains(got.Text, "couldn't read that button") {
				t.Errorf("refresh = %q, want that the button could not be read", got.Text)
			}
			refusedAudit("refresh from a card's value", "list")
		}

		// List value as a match choice
		{
			w.clickFrom(alice, button{actionID: blocks.ActionIDPickInstance + ":0", blockID: "match:0", value: listStatus.value}, "kinds-pick", clickFrom{})
			if got := w.urlPost("kinds-pick", waitResult); !strings.Contains(got.Text, "couldn't read that button") {
				t.Errorf("pick = %q, want that the button could not be read", got.Text)
			}
			refusedAudit("pick from a list's value", "status")
		}

		// Card value as an approval
		{
			w.clickFrom(alice, button{actionID: blocks.ActionIDApproval + ":approve", blockID: "approval_actions", value: cardSession}, "kinds-approve", clickFrom{})
			if got := w.urlPost("kinds-approve", waitResult); !strings.Contains(got.Text, "couldn't read that button") {
				t.Errorf("approve = %q, want that the button could not be read", got.Text)
			}
			w.waitAudit("approval from a card's value", func(e store.AuditEntry) bool {
				return e.UserID == alice && e.Result == store.ResultRefused && strings.Contains(e.Error, "card's value")
			})
		}

		// The values still work where they belong.
		w.click(alice, listStatus, "kinds-own")
		w.waitForURLText("kinds-own", "web-2", waitResult)

		// Nothing was done to any instance.
		for _, id := range []string{"i-0000000000000a001", "i-0000000000000a002", "i-0000000000000d001"} {
			if got, _ := w.sim.Get(acctProd, "eu-west-1", id); got.State != ec2sim.StateRunning {
				t.Errorf("%s is %s after refused values, want running", id, got.State)
			}
		}
	})
}
