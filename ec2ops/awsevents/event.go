// Package awsevents reads the AWS events Charlize reports in Slack (EC2
// instance state changes, CloudWatch alarm state changes and AWS Health
// scheduled maintenance) from SQS queues that EventBridge rules fill. It
// decodes EventBridge envelopes, raw or wrapped in an SNS notification,
// long-polls the queues with aws-sdk-go-v2's SQS client, deletes what was
// handled and leaves what keeps failing to the queue's redrive policy, and
// prints the CloudFormation template that sets the queues up.
//
// It knows nothing of Slack: a Handler decides what an event becomes.
package awsevents

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Kind is what an event is about, as the accounts file's notify list names
// it.
type Kind string

// The kinds Charlize reports.
const (
	KindStateChange Kind = "state-change" // EC2 Instance State-change Notification
	KindAlarm       Kind = "alarm"        // CloudWatch Alarm State Change
	KindHealth      Kind = "health"       // AWS Health Event (EC2 scheduled changes)
)

// Kinds lists every kind, in the order the README gives them.
func Kinds() []Kind { return []Kind{KindStateChange, KindAlarm, KindHealth} }

// EventBridge detail-types of the kinds.
const (
	DetailTypeStateChange = "EC2 Instance State-change Notification"
	DetailTypeAlarm       = "CloudWatch Alarm State Change"
	DetailTypeHealth      = "AWS Health Event"
)

// Event is one EventBridge event. Exactly one of StateChange, Alarm and
// Health is set for the kinds Charlize reports; Kind is "" for any other
// detail-type, which callers ignore.
type Event struct {
	ID         string // EventBridge's id: the same event delivered twice has the same one
	Kind       Kind
	DetailType string
	Source     string
	AccountID  string
	Region     string
	Time       time.Time
	Resources  []string

	StateChange *StateChange
	Alarm       *Alarm
	Health      *Health
}

// StateChange is an EC2 instance that reached (or left for) a state.
type StateChange struct {
	InstanceID string
	State      string // pending, running, stopping, stopped, shutting-down, terminated
}

// Alarm is a CloudWatch alarm that changed state.
type Alarm struct {
	Name          string
	Description   string
	State         string // ALARM, OK, INSUFFICIENT_DATA
	PreviousState string
	Reason        string
	StateTime     time.Time // when the alarm entered State
	// The first metric's namespace, name and statistic, its dimensions,
	// and the threshold from the evaluation, when the event says.
	Namespace, Metric, Statistic string
	Dimensions                   map[string]string
	Threshold                    *float64
	// InstanceID is the InstanceId dimension, when there is one.
	InstanceID string
}

// Alarm states.
const (
	AlarmStateAlarm            = "ALARM"
	AlarmStateOK               = "OK"
	AlarmStateInsufficientData = "INSUFFICIENT_DATA"
)

// Health is an AWS Health event about EC2: scheduled maintenance
// (retirement, reboot, stop) of some instances.
type Health struct {
	ARN         string
	TypeCode    string // AWS_EC2_INSTANCE_RETIREMENT_SCHEDULED, …
	Category    string // scheduledChange, issue, accountNotification
	Status      string // upcoming, open, closed
	Start, End  time.Time
	Description string
	Instances   []string // affected instance ids
}

// MalformedError means a message is not an event Charlize can read; it is
// logged and deleted, never retried.
type MalformedError struct{ Reason string }

func (e *MalformedError) Error() string { return "malformed event: " + e.Reason }

func malformed(format string, args ...any) error {
	return &MalformedError{Reason: fmt.Sprintf(format, args...)}
}

// envelope is an EventBridge event, or an SNS notification carrying one
// in Message.
type envelope struct {
	// SNS
	Type    string `json:"Type"`
	Message string `json:"Message"`
	// EventBridge
	ID         string          `json:"id"`
	DetailType string          `json:"detail-type"`
	Source     string          `json:"source"`
	Account    string          `json:"account"`
	Time       string          `json:"time"`
	Region     string          `json:"region"`
	Resources  []string        `json:"resources"`
	Detail     json.RawMessage `json:"detail"`
}

var (
	accountIDRE  = regexp.MustCompile(`^[0-9]{12}$`)
	regionRE     = regexp.MustCompile(`^[a-z]{2}(?:-[a-z]+)+-[0-9]{1,2}$`)
	instanceIDRE = regexp.MustCompile(`^i-[0-9a-f]{8,17}$`)
)

// ec2States are the states an EC2 state-change event reports.
var ec2States = map[string]bool{"pending": true, "running": true, "stopping": true, "stopped": true, "shutting-down": true, "terminated": true}

// Decode reads one SQS message body: an EventBridge event, or an SNS
// notification whose Message is one. Anything else is a *MalformedError.
func Decode(body []byte) (Event, error) {
	var env envelope
	if err := json.Unmarshal(body, &env); err != nil {
		return Event{}, malformed("not JSON")
	}
	if env.Type == "Notification" {
		if env.Message == "" {
			return Event{}, malformed("SNS notification without a Message")
		}
		inner := envelope{}
		if err := json.Unmarshal([]byte(env.Message), &inner); err != nil || inner.Type != "" {
			return Event{}, malformed("SNS Message is not an EventBridge event")
		}
		env = inner
	}
	switch {
	case env.ID == "" || len(env.ID) > 128:
		return Event{}, malformed("no id")
	case env.DetailType == "":
		return Event{}, malformed("no detail-type")
	case !accountIDRE.MatchString(env.Account):
		return Event{}, malformed("account %q is not an account id", env.Account)
	case !regionRE.MatchString(env.Region):
		return Event{}, malformed("region %q is not a region", env.Region)
	}
	at, err := time.Parse(time.RFC3339, env.Time)
	if err != nil {
		return Event{}, malformed("time %q is not RFC 3339", env.Time)
	}
	ev := Event{ID: env.ID, DetailType: env.DetailType, Source: env.Source, AccountID: env.Account,
		Region: env.Region, Time: at, Resources: env.Resources}
	switch env.DetailType {
	case DetailTypeStateChange:
		ev.Kind = KindStateChange
		ev.StateChange, err = decodeStateChange(env.Detail)
	case DetailTypeAlarm:
		ev.Kind = KindAlarm
		ev.Alarm, err = decodeAlarm(env.Detail)
	case DetailTypeHealth:
		ev.Kind = KindHealth
		ev.Health, err = decodeHealth(env.Detail, env.Resources)
	}
	if err != nil {
		return Event{}, err
	}
	return ev, nil
}

func decodeStateChange(raw json.RawMessage) (*StateChange, error) {
	var d struct {
		InstanceID string `json:"instance-id"`
		State      string `json:"state"`
	}
	if err := json.Unmarshal(raw, &d); err != nil {
		return nil, malformed("state-change detail is not an object")
	}
	if !instanceIDRE.MatchString(d.InstanceID) {
		return nil, malformed("instance-id %q is not an instance id", d.InstanceID)
	}
	if !ec2States[d.State] {
		return nil, malformed("state %q is not an EC2 state", d.State)
	}
	return &StateChange{InstanceID: d.InstanceID, State: d.State}, nil
}

// alarmTimeLayout is how alarm events write state timestamps
// ("2019-10-02T17:04:40.989+0000"), which is not RFC 3339.
const alarmTimeLayout = "2006-01-02T15:04:05.000-0700"

func decodeAlarm(raw json.RawMessage) (*Alarm, error) {
	type state struct {
		Value      string `json:"value"`
		Reason     string `json:"reason"`
		ReasonData string `json:"reasonData"`
		Timestamp  string `json:"timestamp"`
	}
	var d struct {
		AlarmName     string `json:"alarmName"`
		State         state  `json:"state"`
		PreviousState state  `json:"previousState"`
		Configuration struct {
			Description string `json:"description"`
			Metrics     []struct {
				MetricStat struct {
					Metric struct {
						Namespace  string            `json:"namespace"`
						Name       string            `json:"name"`
						Dimensions map[string]string `json:"dimensions"`
					} `json:"metric"`
					Stat string `json:"stat"`
				} `json:"metricStat"`
			} `json:"metrics"`
		} `json:"configuration"`
	}
	if err := json.Unmarshal(raw, &d); err != nil {
		return nil, malformed("alarm detail is not an object")
	}
	switch {
	case d.AlarmName == "" || len(d.AlarmName) > 255:
		return nil, malformed("alarm without a name")
	case d.State.Value != AlarmStateAlarm && d.State.Value != AlarmStateOK && d.State.Value != AlarmStateInsufficientData:
		return nil, malformed("alarm state %q", d.State.Value)
	}
	a := &Alarm{Name: d.AlarmName, Description: d.Configuration.Description, State: d.State.Value,
		PreviousState: d.PreviousState.Value, Reason: d.State.Reason}
	if t, err := parseAlarmTime(d.State.Timestamp); err == nil {
		a.StateTime = t
	}
	if len(d.Configuration.Metrics) > 0 {
		m := d.Configuration.Metrics[0].MetricStat
		a.Namespace, a.Metric, a.Statistic, a.Dimensions = m.Metric.Namespace, m.Metric.Name, m.Stat, m.Metric.Dimensions
		if id := m.Metric.Dimensions["InstanceId"]; instanceIDRE.MatchString(id) {
			a.InstanceID = id
		}
	}
	// The evaluation's reasonData is itself JSON, and holds the threshold.
	var rd struct {
		Threshold *float64 `json:"threshold"`
	}
	if json.Unmarshal([]byte(d.State.ReasonData), &rd) == nil {
		a.Threshold = rd.Threshold
	}
	return a, nil
}

func parseAlarmTime(s string) (time.Time, error) {
	if t, err := time.Parse(alarmTimeLayout, s); err == nil {
		return t, nil
	}
	return time.Parse(time.RFC3339Nano, s)
}

func decodeHealth(raw json.RawMessage, resources []string) (*Health, error) {
	var d struct {
		EventARN          string `json:"eventArn"`
		Service           string `json:"service"`
		EventTypeCode     string `json:"eventTypeCode"`
		EventTypeCategory string `json:"eventTypeCategory"`
		StatusCode        string `json:"statusCode"`
		StartTime         string `json:"startTime"`
		EndTime           string `json:"endTime"`
		EventDescription  []struct {
			Language          string `json:"language"`
			LatestDescription string `json:"latestDescription"`
		} `json:"eventDescription"`
		AffectedEntities []struct {
			EntityValue string `json:"entityValue"`
		} `json:"affectedEntities"`
	}
	if err := json.Unmarshal(raw, &d); err != nil {
		return nil, malformed("health detail is not an object")
	}
	if d.EventARN == "" || d.EventTypeCode == "" {
		return nil, malformed("health event without eventArn or eventTypeCode")
	}
	h := &Health{ARN: d.EventARN, TypeCode: d.EventTypeCode, Category: d.EventTypeCategory, Status: d.StatusCode}
	h.Start, _ = parseHealthTime(d.StartTime)
	h.End, _ = parseHealthTime(d.EndTime)
	for _, desc := range d.EventDescription {
		if h.Description == "" || strings.HasPrefix(desc.Language, "en") {
			h.Description = desc.LatestDescription
		}
	}
	seen := map[string]bool{}
	for _, id := range append(entityValues(d.AffectedEntities), resources...) {
		if instanceIDRE.MatchString(id) && !seen[id] {
			seen[id] = true
			h.Instances = append(h.Instances, id)
		}
	}
	if d.Service != "EC2" && d.Service != "" {
		h.Instances = nil // not about instances Charlize can act on
	}
	return h, nil
}

func entityValues(es []struct {
	EntityValue string `json:"entityValue"`
}) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.EntityValue
	}
	return out
}

// parseHealthTime reads Health's "Fri, 27 Jan 2023 06:02:51 GMT", or RFC
// 3339, or Unix seconds.
func parseHealthTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, errors.New("empty")
	}
	for _, layout := range []string{time.RFC1123, time.RFC1123Z, time.RFC3339} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.Unix(n, 0).UTC(), nil
	}
	return time.Time{}, fmt.Errorf("time %q", s)
}
