package app

import (
	"context"
	"errors"
	"fmt"

	"github.com/slack-go/slack"

	"github.com/charlize-app/charlize/blocks"
	"github.com/charlize-app/charlize/handlers/reqctx"
	"github.com/charlize-app/charlize/handlers/slackclient"
)

// responseURLPosts is Slack's limit of posts to one response_url.
const responseURLPosts = 5

// errNoBudget means a response_url's posts are used up.
var errNoBudget = errors.New("response_url: all 5 posts used")

// answerMode says where a reply's answer goes.
type answerMode int

const (
	// replaceAck: a command's ack ("Looking up…") is replaced by the
	// answer, and by a failure.
	replaceAck answerMode = iota
	// replaceClicked: the message whose button was clicked is replaced in
	// place (in the channel when it was there); a failure comes privately,
	// so the message stays.
	replaceClicked
	// shareInChannel: the answer is posted for the channel (privately with
	// a note when the bot may not post there); a failure comes privately.
	shareInChannel
)

// reply is how a flow answers the person whose request it serves: through
// the request's response_url, within Slack's 5 posts, or in the channel.
// It is the only thing that posts to a response_url.
type reply struct {
	d           *Dispatcher
	team        slackclient.Team
	channel     string
	responseURL string
	mode        answerMode
	// fromChannel: the clicked message is one the channel sees, so an
	// answer replacing it stays in the channel.
	fromChannel bool
	posts       int
}

// replyToCommand answers a slash command.
func (d *Dispatcher) replyToCommand(cmd slack.SlashCommand) *reply {
	return &reply{d: d, team: slackclient.Team{ID: cmd.TeamID, EnterpriseID: cmd.EnterpriseID},
		channel: cmd.ChannelID, responseURL: cmd.ResponseURL, mode: replaceAck}
}

// replyToClick answers a button press or a modal submission.
func (d *Dispatcher) replyToClick(cb slack.InteractionCallback) *reply {
	return &reply{d: d, team: slackclient.Team{ID: cb.Team.ID, EnterpriseID: cb.Enterprise.ID},
		channel: channelOf(cb), responseURL: cb.ResponseURL, mode: replaceClicked,
		fromChannel: !cb.Container.IsEphemeral && cb.Container.MessageTs != ""}
}

// replyToOrigin answers the click rec came from, through the response_url
// its record kept (Slack takes posts on it for 30 minutes), for an action
// taken over from a replica that died before answering.
func (d *Dispatcher) replyToOrigin(rec *actionRecord) *reply {
	return &reply{d: d, team: rec.team(), channel: rec.Channel, responseURL: rec.Origin.ResponseURL, mode: replaceClicked,
		fromChannel: !rec.Origin.Ephemeral && rec.Origin.TS != ""}
}

// sharing is r answering for the channel instead.
func (r *reply) sharing() *reply {
	c := *r
	c.mode = shareInChannel
	return &c
}

// answer delivers a flow's result where r's mode says.
func (r *reply) answer(ctx context.Context, msg slack.WebhookMessage) {
	switch r.mode {
	case shareInChannel:
		r.share(ctx, msg)
	case replaceClicked:
		r.replace(ctx, msg)
	default:
		r.replace(ctx, msg)
	}
}

// refuse delivers what went wrong: it replaces a command's ack, and is a
// private message after a click (the clicked message stays as it was).
func (r *reply) refuse(ctx context.Context, msg slack.WebhookMessage) {
	if r.mode == replaceAck {
		r.replace(ctx, msg)
		return
	}
	r.private(ctx, msg)
}

// private posts msg as a new message only the user sees.
func (r *reply) private(ctx context.Context, msg slack.WebhookMessage) {
	msg.ReplaceOriginal = false
	msg.ResponseType = slack.ResponseTypeEphemeral
	r.post(ctx, msg)
}

// replace makes msg the new content of the message the request came from,
// where it was: in the channel, or only for the user.
func (r *reply) replace(ctx context.Context, msg slack.WebhookMessage) {
	msg.ReplaceOriginal = true
	msg.ResponseType = slack.ResponseTypeEphemeral
	if r.fromChannel {
		msg.ResponseType = slack.ResponseTypeInChannel
	}
	r.post(ctx, msg)
}

// share posts msg for everyone in the channel; when the bot may not post
// there, the user gets it privately with a note on how to fix that.
func (r *reply) share(ctx context.Context, msg slack.WebhookMessage) {
	api, err := r.d.clients.Client(ctx, r.team)
	if err == nil {
		if _, err = slackclient.PostMessage(ctx, api, r.channel, msg); err == nil {
			return
		}
	}
	note := "I couldn't post in the channel, so only you see this."
	if slackclient.CannotPost(err) {
		note = fmt.Sprintf("I can't post in <#%s>, so only you see this. Invite me (`/invite @Charlize`) to share lists there.", r.channel)
	}
	r.d.log.InfoContext(ctx, "posting in channel failed; answering the user", "request_id", reqctx.ID(ctx), "slack_error", slackclient.ErrorCode(err))
	if msg.Blocks != nil {
		set := append([]slack.Block{slack.NewContextBlock("fallback_note",
			slack.NewTextBlockObject(slack.MarkdownType, note, false, false))}, msg.Blocks.BlockSet...)
		msg.Blocks = &slack.Blocks{BlockSet: set[:min(len(set), blocks.MaxMessageBlocks)]}
	}
	msg.Text = note + " " + msg.Text
	r.private(ctx, msg)
}

// left is how many posts r's response_url still takes.
func (r *reply) left() int {
	if r.responseURL == "" {
		return 0
	}
	return responseURLPosts - r.posts
}

func (r *reply) post(ctx context.Context, msg slack.WebhookMessage) {
	err := errNoBudget
	if r.responseURL != "" && r.posts < responseURLPosts {
		r.posts++
		err = r.d.respond.Post(ctx, r.responseURL, msg)
	}
	if err != nil && r.responseURL != "" {
		r.d.log.WarnContext(ctx, "could not answer through response_url", "request_id", reqctx.ID(ctx), "err", err)
	}
}

// soon runs deliver after the ack, so a request's answer never holds up
// Slack's 3 seconds.
func (r *reply) soon(ctx context.Context, deliver func(context.Context, *reply)) {
	if r.responseURL == "" {
		return
	}
	if err := r.d.answers.Go(ctx, func(ctx context.Context) { deliver(ctx, r) }); err != nil {
		r.d.log.WarnContext(ctx, "could not queue an answer", "request_id", reqctx.ID(ctx), "err", err)
	}
}

// refuseSoon words err with the one error path and refuses after the ack.
func (r *reply) refuseSoon(ctx context.Context, op string, err error) {
	msg := blocks.Refusal(r.d.failureText(ctx, op, err))
	r.soon(ctx, func(ctx context.Context, r *reply) { r.refuse(ctx, msg) })
}

// later runs produce after the ack and delivers its message where r's
// mode says, or its failure, worded by the one error path.
func (d *Dispatcher) later(ctx context.Context, op string, r *reply, produce func(context.Context) (slack.WebhookMessage, error)) error {
	return d.workers.Go(ctx, func(ctx context.Context) {
		msg, err := produce(ctx)
		if err != nil {
			r.refuse(ctx, d.failure(ctx, op, err))
			return
		}
		r.answer(ctx, msg)
	})
}

// editPosted replaces a message Charlize posted in a channel; when that
// fails it replaces it through via (a reply whose request came from that
// message), if any.
func (d *Dispatcher) editPosted(ctx context.Context, team slackclient.Team, at origin, msg slack.WebhookMessage, via *reply) {
	if at.TS != "" && at.ChannelID != "" {
		api, err := d.clients.Client(ctx, team)
		if err == nil {
			err = slackclient.UpdateMessage(ctx, api, at.ChannelID, at.TS, msg)
		}
		if err == nil {
			return
		}
		d.log.WarnContext(ctx, "could not edit posted message", "request_id", reqctx.ID(ctx), "slack_error", slackclient.ErrorCode(err))
	}
	if via != nil {
		v := *via
		v.fromChannel = true
		v.replace(ctx, msg)
	}
}

// tellPrivately shows msg to user alone in channel (chat.postEphemeral):
// for people who are not the ones clicking, such as the requester of an
// approved action.
func (d *Dispatcher) tellPrivately(ctx context.Context, team slackclient.Team, channel, user string, msg slack.WebhookMessage) {
	if channel == "" || user == "" {
		return
	}
	api, err := d.clients.Client(ctx, team)
	if err == nil {
		_, err = api.PostEphemeralContext(ctx, channel, user, slackclient.MsgOptions(msg)...)
	}
	if err != nil {
		d.log.WarnContext(ctx, "could not tell the requester", "request_id", reqctx.ID(ctx), "user", user, "slack_error", slackclient.ErrorCode(err))
	}
}

func ephemeral(text string) slack.WebhookMessage {
	return slack.WebhookMessage{ResponseType: slack.ResponseTypeEphemeral, Text: text}
}
