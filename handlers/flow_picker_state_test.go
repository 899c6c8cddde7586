package handlers_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/slack-go/slack"

	"github.com/charlize-app/charlize/blocks"
)

// The picker carries where its result goes in its private_metadata (no
// session is written to open it); a submission whose metadata names
// another workspace, or is not a picker's, is refused inline.
func TestPickerStateTravelsWithTheModal(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{})
	if status, _ := w.command(alice, "", "picker-state"); status != http.StatusOK {
		t.Fatalf("/charlize = %d", status)
	}
	picker := w.openedView("views.open", 1)
	if md := picker.PrivateMetadata; !strings.Contains(md, `"kind":"picker"`) || !strings.Contains(md, channel) ||
		!strings.Contains(md, w.slack.ResponseURL("picker-state")) || len(md) > blocks.MaxPrivateMetadata {
		t.Fatalf("picker private_metadata = %q, want the picker's channel and response_url", md)
	}
	for _, tc := range []struct{ name, metadata string }{
		{"another workspace", strings.Replace(picker.PrivateMetadata, team, "T0OTHER", 1)},
		{"not a picker", strings.Replace(picker.PrivateMetadata, `"kind":"picker"`, `"kind":"list"`, 1)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := *picker
			v.PrivateMetadata = tc.metadata
			rep := w.submitView(alice, &v, map[string]map[string]any{})
			var errs slack.ViewSubmissionResponse
			rep.json(t, &errs)
			if errs.ResponseAction != slack.RAErrors || len(errs.Errors) == 0 {
				t.Errorf("submit with %s's metadata = %d %s, want an inline refusal", tc.name, rep.status, rep.body)
			}
		})
	}
	if n := len(w.slack.Calls("chat.postMessage")); n != 0 {
		t.Errorf("%d lists posted, want none for refused submissions", n)
	}
}
