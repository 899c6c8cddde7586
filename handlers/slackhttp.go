package handlers

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"

	"github.com/charlize-app/charlize/blocks"
	"github.com/charlize-app/charlize/handlers/app"
)

// These are the HTTP adapters: decode, dispatch, write the ack. The
// signature middleware has already verified the body.

// ackBudget bounds the work before a request's ack: Slack waits 3 seconds
// and the network takes some of them. Work after the ack does not inherit
// it.
const ackBudget = 2500 * time.Millisecond

// ackContext is a request's context within the ack budget.
func ackContext(c echo.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(c.Request().Context(), ackBudget)
}

// commands adapts a slash command handler: the form decoded by slack-go.
func commands(handle func(context.Context, slack.SlashCommand) app.Ack) echo.HandlerFunc {
	return func(c echo.Context) error {
		cmd, err := slack.SlashCommandParse(c.Request())
		if err != nil || cmd.TeamID == "" || cmd.UserID == "" {
			return echo.NewHTTPError(http.StatusBadRequest, "malformed slash command")
		}
		ctx, cancel := ackContext(c)
		defer cancel()
		return writeAck(c, handle(ctx, cmd))
	}
}

// interactions adapts an interactivity or options handler: the JSON in
// the form field "payload".
func interactions(handle func(context.Context, slack.InteractionCallback) app.Ack) echo.HandlerFunc {
	return func(c echo.Context) error {
		cb, err := decodeInteraction(c)
		if err != nil {
			return err
		}
		ctx, cancel := ackContext(c)
		defer cancel()
		return writeAck(c, handle(ctx, cb))
	}
}

// events adapts an Events API handler: the JSON body, and Slack's retry
// count.
func events(handle func(context.Context, slackevents.EventsAPIEvent, int) app.Ack) echo.HandlerFunc {
	return func(c echo.Context) error {
		body, err := io.ReadAll(c.Request().Body)
		if err != nil {
			return echo.NewHTTPError(http.StatusBadRequest, "could not read body")
		}
		ev, err := slackevents.ParseEvent(body, slackevents.OptionNoVerifyToken())
		if err != nil {
			return echo.NewHTTPError(http.StatusBadRequest, "malformed event")
		}
		retry, _ := strconv.Atoi(c.Request().Header.Get("X-Slack-Retry-Num"))
		ctx, cancel := ackContext(c)
		defer cancel()
		return writeAck(c, handle(ctx, ev, retry))
	}
}

// decodeInteraction reads the form field "payload" that carries the JSON of
// block_actions, view_submission and block_suggestion requests.
func decodeInteraction(c echo.Context) (slack.InteractionCallback, error) {
	var cb slack.InteractionCallback
	payload := c.FormValue("payload")
	if payload == "" {
		return cb, echo.NewHTTPError(http.StatusBadRequest, "missing payload")
	}
	if err := json.Unmarshal([]byte(payload), &cb); err != nil {
		return cb, echo.NewHTTPError(http.StatusBadRequest, "malformed payload")
	}
	if cb.Team.ID == "" || cb.User.ID == "" {
		return cb, echo.NewHTTPError(http.StatusBadRequest, "payload lacks team or user")
	}
	return cb, nil
}

// answerBuffers hold encoded answers while they are written: one per
// answer in flight instead of a new one per request, which under load was
// a tenth of what the server allocated. A rare large answer is not kept.
var answerBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 4<<10); return &b }}

const maxPooledAnswer = 64 << 10

// writeAck answers Slack's request with a.Body, or with a 503 for Slack to
// deliver again. JSON goes out with its Content-Length in one write; a
// stream (c.JSON) is chunked.
func writeAck(c echo.Context, a app.Ack) error {
	if a.Redeliver {
		return c.NoContent(http.StatusServiceUnavailable)
	}
	switch body := a.Body.(type) {
	case slack.WebhookMessage:
		buf := answerBuffers.Get().(*[]byte)
		defer answerBuffers.Put(buf)
		raw, err := blocks.AppendMessage((*buf)[:0], body)
		if err != nil {
			return fmt.Errorf("encode answer: %w", err)
		}
		if cap(raw) <= maxPooledAnswer {
			*buf = raw // grown, kept for the next answer
		}
		return c.JSONBlob(http.StatusOK, raw) // written through before it returns
	case nil:
		return c.NoContent(http.StatusOK)
	case string:
		return c.String(http.StatusOK, body)
	case json.RawMessage: // encoded once, ahead of time
		return c.JSONBlob(http.StatusOK, body)
	case app.EncodedPieces:
		buf := answerBuffers.Get().(*[]byte)
		defer answerBuffers.Put(buf)
		raw := (*buf)[:0]
		for _, piece := range body {
			raw = append(raw, piece...)
		}
		if cap(raw) <= maxPooledAnswer {
			*buf = raw
		}
		return c.JSONBlob(http.StatusOK, raw)
	default:
		raw, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("encode answer: %w", err)
		}
		return c.JSONBlob(http.StatusOK, raw)
	}
}
