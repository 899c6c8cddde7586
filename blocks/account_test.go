package blocks_test

import (
	"strings"
	"testing"

	"github.com/slack-go/slack"

	"github.com/charlize-app/charlize/blocks"
)

func TestAccountsGolden(t *testing.T) {
	msg := blocks.Accounts([]blocks.AccountView{
		{Name: "acme-prod", ID: "123456789012", Regions: []string{"eu-west-1", "us-east-1"}, Role: "arn:aws:iam::123456789012:role/charlize"},
		{Name: "acme-dev", ID: "210987654321", Regions: []string{"us-east-1"}, Role: "ambient credentials"},
	})
	mustPassMessage(t, "Accounts", msg)
	mustMatchGolden(t, "accounts", msg)
}

func TestAccountsMany(t *testing.T) {
	regions := make([]string, 100)
	for i := range regions {
		regions[i] = "region-" + itoa(i)
	}
	var accounts []blocks.AccountView
	for i := range 150 {
		accounts = append(accounts, blocks.AccountView{Name: strings.Repeat("<!channel>", 20) + itoa(i), ID: "123456789012", Regions: regions, Role: strings.Repeat("arn", 100)})
	}
	msg := blocks.Accounts(accounts)
	mustPassMessage(t, "Accounts(150)", msg)
	set := msg.Blocks.BlockSet
	last := set[len(set)-1].(*slack.SectionBlock).Text.Text
	if !strings.Contains(last, " more") {
		t.Errorf("Accounts(150) last section ends %q, want \"and N more\"", last[len(last)-40:])
	}
	if n := len(blocks.Accounts(nil).Blocks.BlockSet); n != 2 {
		t.Errorf("Accounts(nil) has %d blocks, want header and a note", n)
	}
}
