package awsevents

import (
	"bytes"
	_ "embed"
	"fmt"
	"regexp"
	"text/template"

	"go.yaml.in/yaml/v3"
)

//go:embed events-template.yaml
var templateText string

var cfnTemplate = template.Must(template.New("events").Parse(templateText))

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
	if err := cfnTemplate.Execute(&b, struct{ QueueAccount string }{queueAccount}); err != nil {
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
