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
}

// maxAccountLine bounds one account's line, so a hundred regions or a long
// role cannot crowd out the other accounts.
const maxAccountLine = 600

// maxAccountSections bounds the sections Accounts fills with lines.
const maxAccountSections = 10

// Accounts renders the configured accounts, one line each; what does not
// fit is summed up as "and N more".
func Accounts(accounts []AccountView) slack.WebhookMessage {
	set := []slack.Block{slack.NewHeaderBlock(plain("Accounts"), slack.HeaderBlockOptionBlockID("accounts_header"))}
	if len(accounts) == 0 {
		set = append(set, slack.NewSectionBlock(mrkdwn("No accounts are configured."), nil, nil, slack.SectionBlockOptionBlockID("accounts_none")))
		return slack.WebhookMessage{Text: "No accounts are configured.", Blocks: &slack.Blocks{BlockSet: set}}
	}
	// Leave room in the last section for "and N more".
	const room = MaxSectionText - 40
	var chunk strings.Builder
	shown := 0
	flush := func() {
		set = append(set, slack.NewSectionBlock(mrkdwn(chunk.String()), nil, nil,
			slack.SectionBlockOptionBlockID(fmt.Sprintf("accounts:%d", len(set)-1))))
		chunk.Reset()
	}
	for _, a := range accounts {
		line := accountLine(a)
		if chunk.Len() > 0 && len([]rune(chunk.String()))+1+len([]rune(line)) > room {
			if len(set)-1 == maxAccountSections-1 {
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
	if rest := len(accounts) - shown; rest > 0 {
		fmt.Fprintf(&chunk, "\nand %d more", rest)
	}
	flush()
	return slack.WebhookMessage{
		Text:   plural(len(accounts), "account"),
		Blocks: &slack.Blocks{BlockSet: set},
	}
}

// accountLine is "• *acme-prod* `123456789012` · eu-west-1, us-east-1 · `arn:…`".
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
	if a.Role != "" {
		line += " · " + Code(a.Role, 200)
	}
	return Truncate(line, maxAccountLine)
}
