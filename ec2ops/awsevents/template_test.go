package awsevents_test

import (
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/charlize-app/charlize/ec2ops/awsevents"
)

// cfnTemplate is the part of a CloudFormation template the tests read.
// CloudFormation's short intrinsics (!Ref, !GetAtt, …) are YAML tags, which
// yaml.Node keeps.
type cfnTemplate struct {
	AWSTemplateFormatVersion string                 `yaml:"AWSTemplateFormatVersion"`
	Description              string                 `yaml:"Description"`
	Parameters               map[string]yaml.Node   `yaml:"Parameters"`
	Conditions               map[string]yaml.Node   `yaml:"Conditions"`
	Resources                map[string]cfnResource `yaml:"Resources"`
	Outputs                  map[string]yaml.Node   `yaml:"Outputs"`
}

type cfnResource struct {
	Type       string    `yaml:"Type"`
	Condition  string    `yaml:"Condition"`
	Properties yaml.Node `yaml:"Properties"`
}

func mustParseTemplate(t *testing.T, queueAccount string) (cfnTemplate, string) {
	t.Helper()
	raw, err := awsevents.Template(queueAccount)
	if err != nil {
		t.Fatalf("Template(%q) = %v", queueAccount, err)
	}
	var tpl cfnTemplate
	dec := yaml.NewDecoder(strings.NewReader(string(raw)))
	dec.KnownFields(true)
	if err := dec.Decode(&tpl); err != nil {
		t.Fatalf("Template(%q) does not parse as CloudFormation YAML: %v\n%s", queueAccount, err, raw)
	}
	if tpl.AWSTemplateFormatVersion != "2010-09-09" {
		t.Errorf("AWSTemplateFormatVersion = %q", tpl.AWSTemplateFormatVersion)
	}
	return tpl, string(raw)
}

func wantResources(t *testing.T, tpl cfnTemplate, want map[string]string) {
	t.Helper()
	for name, typ := range want {
		r, ok := tpl.Resources[name]
		if !ok || r.Type != typ {
			t.Errorf("resource %s = %+v, want a %s", name, r.Type, typ)
		}
	}
}

func TestTemplateOneQueuePerAccount(t *testing.T) {
	tpl, raw := mustParseTemplate(t, "")
	wantResources(t, tpl, map[string]string{
		"Queue": "AWS::SQS::Queue", "DeadLetterQueue": "AWS::SQS::Queue",
		"QueuePolicy": "AWS::SQS::QueuePolicy", "EventsRule": "AWS::Events::Rule",
	})
	if len(tpl.Resources) != 4 || len(tpl.Conditions) != 0 {
		t.Errorf("resources %d, conditions %d; want 4 and none without a queue account", len(tpl.Resources), len(tpl.Conditions))
	}
	for _, detailType := range []string{awsevents.DetailTypeStateChange, awsevents.DetailTypeAlarm, awsevents.DetailTypeHealth} {
		if !strings.Contains(raw, "["+detailType+"]") {
			t.Errorf("the rule does not match %q", detailType)
		}
	}
	if !strings.Contains(raw, "sqs:SendMessage") || !strings.Contains(raw, "events.amazonaws.com") {
		t.Errorf("the queue policy does not let EventBridge send")
	}
}

func TestTemplateCrossAccount(t *testing.T) {
	tpl, raw := mustParseTemplate(t, "123456789012")
	wantResources(t, tpl, map[string]string{
		"Queue": "AWS::SQS::Queue", "QueuePolicy": "AWS::SQS::QueuePolicy", "EventsRule": "AWS::Events::Rule",
		"MemberEventsPolicy": "AWS::Events::EventBusPolicy", "ForwardRole": "AWS::IAM::Role",
	})
	if tpl.Resources["Queue"].Condition != "IsQueueAccount" || tpl.Resources["ForwardRole"].Condition != "IsMemberAccount" {
		t.Errorf("the queue must be the queue account's and the forwarding role the others'")
	}
	if _, ok := tpl.Conditions["IsQueueAccount"]; !ok {
		t.Errorf("no IsQueueAccount condition")
	}
	p := tpl.Parameters["QueueAccountId"]
	var def struct {
		Default string `yaml:"Default"`
	}
	if err := p.Decode(&def); err != nil || def.Default != "123456789012" {
		t.Errorf("QueueAccountId default = %q, %v, want the account given", def.Default, err)
	}
	if !strings.Contains(raw, "event-bus/default") {
		t.Errorf("members do not forward to the queue account's bus")
	}
}

func TestTemplateRefusesBadAccount(t *testing.T) {
	if _, err := awsevents.Template("12345; rm -rf /"); err == nil {
		t.Error("Template(bad account) = nil error")
	}
}
