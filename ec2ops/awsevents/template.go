package awsevents

import (
	"bytes"
	_ "embed"
	"fmt"
	"regexp"
	"text/template/parse"

	"go.yaml.in/yaml/v3"
)

//go:embed events-template.yaml
var templateText string

// cfnTemplate is the template's tree. It is walked here, not executed with
// text/template: Execute looks methods up by name, so the linker would keep
// every method of every type in the binary (see handlers/htmlpage). The
// template needs only {{if .QueueAccount}}, {{else}}, {{end}} and
// {{.QueueAccount}}; anything else is an error that the tests meet.
var cfnTemplate = func() *parse.Tree {
	trees, err := parse.Parse("events", templateText, "", "")
	if err != nil {
		panic(err) // the embedded template is part of the binary
	}
	return trees["events"]
}()

var queueAccountRE = regexp.MustCompile(`^[0-9]{12}$`)

// Template is the CloudFormation template (YAML) that sends the events
// Charlize reports to an SQS queue: an EventBridge rule, the queue with a
// dead-letter queue, and the queue policy that lets the rule send. With
// queueAccount (a 12-digit account id) one stack serves every account: the
// queue account holds the queue and lets the others' rules forward their
// events to its event bus; without, each account gets its own queue.
func Template(queueAccount string) ([]byte, error) {
	if queueAccount != "" && !queueAccountRE.MatchString(queueAccount) {
		return nil, fmt.Errorf("awsevents.Template: %q is not a 12-digit account id", queueAccount)
	}
	var b bytes.Buffer
	if err := execute(&b, cfnTemplate.Root, queueAccount); err != nil {
		return nil, fmt.Errorf("awsevents.Template: %w", err)
	}
	// What is printed must parse: CloudFormation refuses a broken template
	// only at deploy time.
	var doc yaml.Node
	if err := yaml.Unmarshal(b.Bytes(), &doc); err != nil {
		return nil, fmt.Errorf("awsevents.Template: the template does not parse: %w", err)
	}
	return b.Bytes(), nil
}

func execute(b *bytes.Buffer, list *parse.ListNode, queueAccount string) error {
	for _, n := range list.Nodes {
		switch n := n.(type) {
		case *parse.TextNode:
			b.Write(n.Text)
		case *parse.ActionNode:
			if !isQueueAccount(n.Pipe) {
				return fmt.Errorf("unsupported action %s", n)
			}
			b.WriteString(queueAccount)
		case *parse.IfNode:
			if !isQueueAccount(n.Pipe) {
				return fmt.Errorf("unsupported condition %s", n.Pipe)
			}
			branch := n.List
			if queueAccount == "" {
				branch = n.ElseList
			}
			if branch != nil {
				if err := execute(b, branch, queueAccount); err != nil {
					return err
				}
			}
		default:
			return fmt.Errorf("unsupported %s", n)
		}
	}
	return nil
}

// isQueueAccount tells whether p is just .QueueAccount.
func isQueueAccount(p *parse.PipeNode) bool {
	if p == nil || len(p.Decl) > 0 || len(p.Cmds) != 1 || len(p.Cmds[0].Args) != 1 {
		return false
	}
	f, ok := p.Cmds[0].Args[0].(*parse.FieldNode)
	return ok && len(f.Ident) == 1 && f.Ident[0] == "QueueAccount"
}
