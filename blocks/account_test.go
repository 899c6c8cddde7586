package blocks_test

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/slack-go/slack"

	"github.com/charlize-app/charlize/blocks"
)

func TestAccountsGolden(t *testing.T) {
	msg := blocks.Accounts(blocks.AccountsView{Accounts: []blocks.AccountView{
		{Name: "acme-prod", ID: "123456789012", Regions: []string{"eu-west-1", "us-east-1"}, Role: "arn:aws:iam::123456789012:role/charlize"},
		{Name: "acme-dev", ID: "210987654321", Regions: []string{"us-east-1"}, Role: "ambient credentials"},
	}, Total: 2, Page: 1, Pages: 1})
	mustPassMessage(t, "Accounts", msg)
	mustMatchGolden(t, "accounts", msg)
}

// TestAccountsPageGolden is the second of 20 pages of an organization's
// 500 accounts, narrowed by a filter.
func TestAccountsPageGolden(t *testing.T) {
	var page []blocks.AccountView
	for i := range blocks.AccountsPageSize {
		id := fmt.Sprintf("3000000%05d", 25+i)
		page = append(page, blocks.AccountView{Name: fmt.Sprintf("team-%03d", 25+i), ID: id, Regions: []string{"eu-west-1", "us-east-1"},
			Role: "arn:aws:iam::" + id + ":role/charlize", Discovered: true, OU: "/Prod/"})
	}
	msg := blocks.Accounts(blocks.AccountsView{Accounts: page, Total: 500, Page: 2, Pages: 20, Filter: "team-*",
		PrevValue: "1:team-*", NextValue: "3:team-*"})
	mustPassMessage(t, "Accounts(page 2 of 20)", msg)
	mustMatchGolden(t, "accounts_page", msg)
	nav := msg.Blocks.BlockSet[len(msg.Blocks.BlockSet)-1].(*slack.ActionBlock)
	if n := len(nav.Elements.ElementSet); n != 2 {
		t.Errorf("navigation has %d buttons, want Previous and Next", n)
	}
}

// cutNote is how Accounts says it left accounts out.
var cutNote = regexp.MustCompile(`\nand \d+ more$`)

func TestAccountsMany(t *testing.T) {
	regions := make([]string, 100)
	for i := range regions {
		regions[i] = "region-" + itoa(i)
	}
	var accounts []blocks.AccountView
	for i := range 150 {
		accounts = append(accounts, blocks.AccountView{Name: strings.Repeat("<!channel>", 20) + itoa(i), ID: "123456789012", Regions: regions,
			Role: strings.Repeat("arn", 100), Discovered: true, OU: strings.Repeat("/ou", 100)})
	}
	msg := blocks.Accounts(blocks.AccountsView{Accounts: accounts, Total: 150, Page: 1, Pages: 1})
	mustPassMessage(t, "Accounts(150)", msg)
	set := msg.Blocks.BlockSet
	last := set[len(set)-1].(*slack.SectionBlock).Text.Text
	if !cutNote.MatchString(last) {
		t.Errorf("Accounts(150) last section ends %q, want \"and N more\"", last[len(last)-40:])
	}
	// A full page of the longest lines fits without "and N more".
	msg = blocks.Accounts(blocks.AccountsView{Accounts: accounts[:blocks.AccountsPageSize], Total: 150, Page: 1, Pages: 6, NextValue: "2:"})
	mustPassMessage(t, "Accounts(page of the longest lines)", msg)
	for _, b := range msg.Blocks.BlockSet {
		if s, ok := b.(*slack.SectionBlock); ok && cutNote.MatchString(s.Text.Text) {
			t.Errorf("a page of %d accounts was cut: %q", blocks.AccountsPageSize, s.Text.Text[len(s.Text.Text)-40:])
		}
	}
	if n := len(blocks.Accounts(blocks.AccountsView{}).Blocks.BlockSet); n != 2 {
		t.Errorf("Accounts(none) has %d blocks, want header and a note", n)
	}
	if got := blocks.Accounts(blocks.AccountsView{Filter: "zz*"}).Text; !strings.Contains(got, "No account matches") {
		t.Errorf("Accounts(no match) = %q, want it to say nothing matches", got)
	}
}
