package app

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/charlize-app/charlize/blocks"
)

// The answer to an unknown command is encoded once around its first line;
// what Slack receives is blocks.Unknown as json.Marshal encodes it, byte
// for byte, whatever the input (escaping included).
func TestUnknownAnswerIsBlocksUnknown(t *testing.T) {
	d := bareDispatcher(t)
	for _, text := range []string{
		"stpo web-1", "pick <prod-eu> & more", "<@U123> <!channel>", "\"quoted\" \\ back`tick`",
		"ünïcödé 🚀", "ctrl\x01\x7f\u2028", strings.Repeat("x", 4000), "\x00charlize:unknown_line\x00",
	} {
		verb, _ := splitCommand(text)
		want, err := json.Marshal(blocks.Unknown(blocks.UnknownView{Text: text, Suggestion: d.closest(verb), Help: d.helpView}))
		if err != nil {
			t.Fatal(err)
		}
		pieces, ok := d.unknown(text).Body.(EncodedPieces)
		if !ok {
			t.Fatalf("unknown(%.20q).Body is %T, want encoded JSON", text, d.unknown(text).Body)
		}
		got, _ := pieces.MarshalJSON()
		if diff := cmp.Diff(string(want), string(got)); diff != "" {
			t.Errorf("unknown(%.20q) differs from blocks.Unknown (-want +got):\n%s", text, diff)
		}
	}
}
