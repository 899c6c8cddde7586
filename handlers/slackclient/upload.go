package slackclient

import (
	"bytes"
	"context"
	"errors"

	"github.com/slack-go/slack"
)

// Upload is a file to put in Slack for Block Kit to show.
type Upload struct {
	Name    string // file name, e.g. "web-1-cpu.png"
	Title   string
	AltText string // read by screen readers
	Data    []byte
}

// UploadFile uploads u through Slack's external upload flow, waiting out
// rate limits, and returns the file id. The file is shared to no channel:
// it stays the bot's own, which its image blocks may show (slack_file),
// without a file message appearing in the channel.
func UploadFile(ctx context.Context, api API, u Upload) (string, error) {
	if len(u.Data) == 0 {
		return "", errors.New("slackclient.UploadFile: no data")
	}
	var sum *slack.FileSummary
	err := Call(ctx, func() (err error) {
		sum, err = api.UploadFileContext(ctx, slack.UploadFileParameters{
			Filename: u.Name, Title: u.Title, AltTxt: u.AltText,
			FileSize: len(u.Data), Reader: bytes.NewReader(u.Data),
		})
		return err
	})
	if err != nil {
		return "", err
	}
	if sum == nil || sum.ID == "" {
		return "", errors.New("slackclient.UploadFile: Slack returned no file id")
	}
	return sum.ID, nil
}
