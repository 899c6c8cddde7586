package main

import (
	"flag"
	"fmt"
	"io"
	"log/slog"

	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/charlize-app/charlize/ec2ops"
	"github.com/charlize-app/charlize/ec2ops/awsevents"
	"github.com/charlize-app/charlize/handlers"
	"github.com/charlize-app/charlize/handlers/app"
)

// openEvents builds the poller of the events queues: CHARLIZE_EVENTS_QUEUE_URL
// with Charlize's own credentials, and each account's events_queue_url with
// the account's role. It returns nil when no queue is configured.
func openEvents(cfg config, fleet app.Fleet, d *app.Dispatcher, log *slog.Logger, m *handlers.Metrics) (*awsevents.Poller, error) {
	f, _ := fleet.(*ec2ops.Fleet)
	var queues []awsevents.Queue
	add := func(name, account, url string) error {
		if f == nil {
			return fmt.Errorf("events queue %s: AWS events need AWS accounts (CHARLIZE_ACCOUNTS_FILE, or CHARLIZE_REGIONS / AWS_REGION)", name)
		}
		awsCfg, err := f.QueueConfig(account, url)
		if err != nil {
			return fmt.Errorf("events queue %s: %w", name, err)
		}
		queues = append(queues, awsevents.Queue{Name: name, URL: url, Client: sqs.NewFromConfig(awsCfg)})
		return nil
	}
	if cfg.EventsQueueURL != "" {
		if err := add("central", "", cfg.EventsQueueURL); err != nil {
			return nil, err
		}
	}
	if f != nil {
		for _, a := range f.Accounts() {
			if a.EventsQueueURL != "" {
				if err := add(a.Name, a.Name, a.EventsQueueURL); err != nil {
					return nil, err
				}
			}
		}
	}
	if len(queues) == 0 {
		return nil, nil
	}
	names := make([]string, len(queues))
	for i, q := range queues {
		names[i] = q.Name
	}
	log.Info("polling AWS events", "queues", names, "default_channel", cfg.EventsChannel)
	return awsevents.NewPoller(queues, d.Notify, awsevents.Options{Log: log, Metrics: m}), nil
}

func eventsTemplateCommand(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("events-template", flag.ContinueOnError)
	fs.SetOutput(stderr)
	queueAccount := fs.String("queue-account", "", "the account id (12 digits) that holds the one queue all accounts send their events to; without it each account gets its own queue")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), `Usage: charlize events-template [--queue-account ID] > charlize-events.yaml

Prints the CloudFormation template (YAML) that sends EC2 state changes,
CloudWatch alarm state changes and EC2 scheduled maintenance to an SQS queue
Charlize reads: an EventBridge rule, the queue with a dead-letter queue, and
the queue policy. Deploy it in each account and region Charlize watches, with
aws cloudformation deploy (the README shows the commands).`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return flagErr(err)
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return fmt.Errorf("events-template takes no arguments, got %q", fs.Args())
	}
	tpl, err := awsevents.Template(*queueAccount)
	if err != nil {
		return err
	}
	_, err = stdout.Write(tpl)
	return err
}
