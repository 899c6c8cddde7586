package handlers

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"

	"github.com/charlize-app/charlize/handlers/app"
	"github.com/charlize-app/charlize/handlers/reqctx"
)

// socketAckTimeout is Slack's 3-second window to acknowledge an envelope.
const socketAckTimeout = 3 * time.Second

// SocketModeOptions configure the Socket Mode transport.
type SocketModeOptions struct {
	// AppToken is the app-level token (xapp-…, scope connections:write).
	AppToken string
	// APIURL is Slack's Web API base; apps.connections.open is called there.
	APIURL     string
	HTTPClient *http.Client
	Dispatcher *app.Dispatcher
	Log        *slog.Logger
	Metrics    *Metrics // may be nil
	// MinBackoff and MaxBackoff bound the wait before reconnecting after
	// the client gives up (defaults 1s and 1m). slack-go itself reconnects
	// at once when a socket drops and backs off while connecting fails.
	MinBackoff, MaxBackoff time.Duration
	// PingInterval is how long without a WebSocket ping from Slack before
	// the socket is considered dead (default slack-go's 30s).
	PingInterval time.Duration
}

// SocketMode receives Slack's requests over a WebSocket (no public URL
// needed) and hands each to the same Dispatcher as the HTTP adapter,
// acknowledging the envelope with the Dispatcher's answer.
type SocketMode struct {
	o SocketModeOptions
}

// NewSocketMode builds the transport; Run connects it.
func NewSocketMode(o SocketModeOptions) *SocketMode {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	o.MinBackoff = cmp.Or(o.MinBackoff, time.Second)
	o.MaxBackoff = cmp.Or(o.MaxBackoff, time.Minute)
	return &SocketMode{o: o}
}

// Run keeps a Socket Mode connection up until ctx ends, then returns nil.
func (s *SocketMode) Run(ctx context.Context) error {
	apiOpts := []slack.Option{slack.OptionAppLevelToken(s.o.AppToken), slack.OptionAPIURL(s.o.APIURL)}
	if s.o.HTTPClient != nil {
		apiOpts = append(apiOpts, slack.OptionHTTPClient(s.o.HTTPClient))
	}
	smOpts := []socketmode.Option{socketmode.OptionLog(slogPrinter{s.o.Log})}
	if s.o.PingInterval > 0 {
		smOpts = append(smOpts, socketmode.OptionPingInterval(s.o.PingInterval))
	}
	client := socketmode.New(slack.New("", apiOpts...), smOpts...)

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.receive(ctx, client)
	}()

	backoff := s.o.MinBackoff
	for {
		err := client.RunContext(ctx)
		if ctx.Err() != nil {
			break
		}
		s.o.Log.ErrorContext(ctx, "socket mode connection failed; retrying", "err", err, "retry_in", backoff)
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
		case <-t.C:
		}
		if ctx.Err() != nil {
			break
		}
		backoff = min(2*backoff, s.o.MaxBackoff)
	}
	cancel()
	<-done
	return nil
}

// receive reads the client's events until ctx ends; every Slack request
// is handled on its own goroutine so a slow one delays no other ack.
func (s *SocketMode) receive(ctx context.Context, client *socketmode.Client) {
	for {
		select {
		case <-ctx.Done():
			return
		case evt := <-client.Events:
			switch evt.Type {
			case socketmode.EventTypeConnecting:
				s.o.Log.DebugContext(ctx, "socket mode connecting")
			case socketmode.EventTypeConnected:
				s.o.Log.InfoContext(ctx, "socket mode connected")
			case socketmode.EventTypeConnectionError:
				s.o.Log.WarnContext(ctx, "socket mode connection error", "err", evt.Data)
			case socketmode.EventTypeInvalidAuth:
				s.o.Log.ErrorContext(ctx, "socket mode: Slack refused SLACK_APP_TOKEN")
			case socketmode.EventTypeErrorBadMessage, socketmode.EventTypeIncomingError, socketmode.EventTypeErrorWriteFailed:
				s.o.Log.WarnContext(ctx, "socket mode message error", "type", string(evt.Type), "err", evt.Data)
			case socketmode.EventTypeSlashCommand, socketmode.EventTypeInteractive, socketmode.EventTypeEventsAPI:
				if evt.Request == nil {
					continue
				}
				go s.handle(ctx, client, evt)
			}
		}
	}
}

// handle dispatches one envelope and acks it with the answer, logging one
// line like the HTTP middleware does.
func (s *SocketMode) handle(ctx context.Context, client *socketmode.Client, evt socketmode.Event) {
	start := time.Now()
	reqCtx, info := reqctx.New(ctx, evt.Request.EnvelopeID, start)
	reqCtx, cancelAck := context.WithTimeout(reqCtx, ackBudget)
	defer cancelAck()
	route := "socket:" + string(evt.Type)

	defer func() {
		// As the HTTP side's Recover: log it, answer Slack, keep running.
		if v := recover(); v != nil {
			s.o.Log.ErrorContext(ctx, "panic handling socket mode request", "request_id", evt.Request.EnvelopeID,
				"route", route, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			_ = client.AckCtx(context.WithoutCancel(ctx), evt.Request.EnvelopeID, nil)
		}
	}()

	var ack app.Ack
	var err error
	switch data := evt.Data.(type) {
	case slack.SlashCommand:
		ack = s.o.Dispatcher.Command(reqCtx, data)
	case slack.InteractionCallback:
		if data.Type == slack.InteractionTypeBlockSuggestion {
			ack = s.o.Dispatcher.Options(reqCtx, data)
		} else {
			ack = s.o.Dispatcher.Interaction(reqCtx, data)
		}
	case slackevents.EventsAPIEvent:
		ack = s.o.Dispatcher.Event(reqCtx, data, evt.Request.RetryAttempt)
	default:
		err = fmt.Errorf("unexpected %T", evt.Data)
	}

	var payload any
	if _, text := ack.Body.(string); !text {
		payload = ack.Body // a plain-text answer (url_verification) has no Socket Mode equivalent
	}
	if ack.Redeliver {
		// Unacknowledged, the envelope comes again (its retry_attempt up).
		err = errors.Join(err, errors.New("not handled: left unacknowledged for Slack to deliver again"))
	} else {
		ackCtx, cancel := context.WithTimeout(ctx, socketAckTimeout)
		defer cancel()
		if ackErr := client.AckCtx(ackCtx, evt.Request.EnvelopeID, payload); ackErr != nil {
			err = errors.Join(err, fmt.Errorf("ack: %w", ackErr))
		}
	}

	elapsed := time.Since(start)
	level, status := slog.LevelInfo, "ok"
	if err != nil {
		level, status = slog.LevelError, "error"
	}
	if m := s.o.Metrics; m != nil {
		m.requests.WithLabelValues(route, status).Inc()
		m.latency.WithLabelValues(route).Observe(elapsed.Seconds())
	}
	var extra []slog.Attr
	if err != nil {
		extra = append(extra, slog.String("err", err.Error()))
	}
	info.LogLine(reqCtx, s.o.Log, level, route, slog.String("status", status), elapsed, extra...)
}

// slogPrinter sends slack-go's socketmode debug output to the logger at
// debug level instead of stderr.
type slogPrinter struct{ log *slog.Logger }

func (p slogPrinter) Output(_ int, msg string) error {
	p.log.Debug("socketmode", "msg", msg)
	return nil
}
