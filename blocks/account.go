package blocks

import (
	"fmt"
	"strings"

	"github.com/slack-go/slack"
)

// AccountView is one AWS account Charlize can operate in.
type AccountView struct {
	Name, ID string
	Regions  []string
	Role     string // role ARN, or "ambient credentials"
	// Discovered marks an account listed from the AWS Organization; OU is
	// its OU path when known.
	Discovered bool
	OU         string
}

// AccountsView is one page of `/charlize accounts`.
type AccountsView struct {
	Accounts    []AccountView // this page's
	Total       int           // accounts on every page
	Page, Pages int           // 1-based
	Filter      string        // what the user narrowed the list by, if anything
	// PrevValue and NextValue are the navigation buttons' values; "" leaves
	// a button out.
	PrevValue, NextValue string
}

// AccountsPageSize is how many accounts one page shows: with lines of at
// most maxAccountLine characters they fill at most 7 sections.
const AccountsPageSize = 25

// ActionIDAccountsPage starts the action_ids of the accounts list's
// navigation buttons ("accounts_page:prev", "accounts_page:next").
const ActionIDAccountsPage = "accounts_page"

// maxAccountLine bounds one account's line, so a hundred regions or a long
// role cannot crowd out the other accounts.
const maxAccountLine = 600

// maxAccountSections bounds the sections Accounts fills with lines.
const maxAccountSections = 10

// Accounts renders one page of accounts, one line each, with Previous and
// Next when there are more pages; what does not fit the sections is summed
// up as "and N more".
func Accounts(v AccountsView) slack.WebhookMessage {
	set := []slack.Block{slack.NewHeaderBlock(plain("Accounts"), slack.HeaderBlockOptionBlockID("accounts_header"))}
	if len(v.Accounts) == 0 {
		none := "No accounts are configured."
		if v.Filter != "" {
			none = "No account matches " + Code(v.Filter, maxShort) + "."
		}
		set = append(set, slack.NewSectionBlock(mrkdwn(none), nil, nil, slack.SectionBlockOptionBlockID("accounts_none")))
		return slack.WebhookMessage{Text: none, Blocks: &slack.Blocks{BlockSet: set}}
	}
	total := max(v.Total, len(v.Accounts))
	summary := plural(total, "account")
	if v.Filter != "" {
		summary += " matching " + Code(v.Filter, maxShort)
	}
	if v.Pages > 1 {
		first := (v.Page-1)*AccountsPageSize + 1
		summary += fmt.Sprintf(" · %d–%d · page %d of %d", first, first+len(v.Accounts)-1, v.Page, v.Pages)
	}
	set = append(set, slack.NewContextBlock("accounts_summary", mrkdwn(summary)))
	// Leave room in the last section for "and N more".
	const room = MaxSectionText - 40
	var chunk strings.Builder
	sections, shown := 0, 0
	flush := func() {
		set = append(set, slack.NewSectionBlock(mrkdwn(chunk.String()), nil, nil,
			slack.SectionBlockOptionBlockID(fmt.Sprintf("accounts:%d", sections))))
		sections++
		chunk.Reset()
	}
	for _, a := range v.Accounts {
		line := accountLine(a)
		if chunk.Len() > 0 && len([]rune(chunk.String()))+1+len([]rune(line)) > room {
			if sections == maxAccountSections-1 {
				break
			}
			flush()
		}
		if chunk.Len() > 0 {
			chunk.WriteString("\n")
		}
		chunk.WriteString(line)
		shown++
	}
	if rest := len(v.Accounts) - shown; rest > 0 {
		fmt.Fprintf(&chunk, "\nand %d more", rest)
	}
	flush()
	var nav []slack.BlockElement
	if v.PrevValue != "" && len(v.PrevValue) <= MaxButtonValue {
		nav = append(nav, slack.NewButtonBlockElement(ActionIDAccountsPage+":prev", v.PrevValue, plain("◀ Previous")))
	}
	if v.NextValue != "" && len(v.NextValue) <= MaxButtonValue {
		nav = append(nav, slack.NewButtonBlockElement(ActionIDAccountsPage+":next", v.NextValue, plain("Next ▶")))
	}
	if len(nav) > 0 {
		set = append(set, slack.NewActionBlock("accounts_nav", nav...))
	}
	return slack.WebhookMessage{
		Text:   summary,
		Blocks: &slack.Blocks{BlockSet: set},
	}
}

// accountLine is "• *acme-prod* `123456789012` · eu-west-1, us-east-1 · `arn:…`",
// with "· organization /Prod/" for a discovered account.
func accountLine(a AccountView) string {
	line := "• *" + esc(a.Name, maxAccount) + "*"
	if a.ID != "" {
		line += " " + Code(a.ID, maxID)
	}
	if len(a.Regions) > 0 {
		rs := make([]string, len(a.Regions))
		for i, r := range a.Regions {
			rs[i] = esc(r, maxShort)
		}
		line += " · " + joinBounded(rs, ", ", 300)
	}
	if a.Discovered {
		line += " · organization"
		if a.OU != "" {
			line += " " + Code(a.OU, 200)
		}
	}
	if a.Role != "" {
		line += " · " + Code(a.Role, 200)
	}
	return Truncate(line, maxAccountLine)
}
