package slacktest_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/slack-go/slack"

	"github.com/charlize-app/charlize/handlers/slackclient"
	"github.com/charlize-app/charlize/handlers/slacktest"
)

func imageBlock(fileID string) slack.Block {
	return slack.NewImageBlockSlackFile(&slack.SlackFileObject{ID: fileID}, "graph", "graph", nil)
}

func TestUploadFlow(t *testing.T) {
	api := slacktest.NewAPI(t)
	client := slackclient.NewClient(token, api.APIURL(), nil)
	ctx := context.Background()
	data := []byte("\x89PNG\r\n\x1a\nnot really")

	id, err := slackclient.UploadFile(ctx, client, slackclient.Upload{Name: "web-1-cpu.png", Title: "web-1 CPU", AltText: "CPU of web-1", Data: data})
	if err != nil {
		t.Fatalf("UploadFile = %v", err)
	}
	files := api.Files()
	if len(files) != 1 {
		t.Fatalf("Files() = %d, want 1", len(files))
	}
	f := files[0]
	if f.ID != id || !f.Completed || !bytes.Equal(f.Data, data) || f.Name != "web-1-cpu.png" || f.Title != "web-1 CPU" || f.AltText != "CPU of web-1" || len(f.Channels) != 0 {
		t.Errorf("file = %+v, want the completed upload of %q, shared nowhere", f, data)
	}
	for _, m := range []string{"files.getUploadURLExternal", slacktest.MethodUpload, "files.completeUploadExternal"} {
		if calls := api.Calls(m); len(calls) != 1 || calls[0].Token != token {
			t.Errorf("%s calls = %+v, want one with the bot token", m, calls)
		}
	}

	// An image block may show the completed file, and nothing else.
	if _, _, err := client.PostMessageContext(ctx, "C1", slack.MsgOptionBlocks(imageBlock(id))); err != nil {
		t.Errorf("post with the uploaded file = %v", err)
	}
	_, _, err = client.PostMessageContext(ctx, "C1", slack.MsgOptionBlocks(imageBlock("F0000009999")))
	wantSlackError(t, "post with an unknown file", err, "invalid_blocks")

	// A file whose upload never completed does not exist for Block Kit.
	u, err := client.GetUploadURLExternalContext(ctx, slack.GetUploadURLExternalParameters{FileName: "x.png", FileSize: 3})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = client.PostMessageContext(ctx, "C1", slack.MsgOptionBlocks(imageBlock(u.FileID)))
	wantSlackError(t, "post with an unfinished upload", err, "invalid_blocks")
	_, err = client.CompleteUploadExternalContext(ctx, slack.CompleteUploadExternalParameters{Files: []slack.FileSummary{{ID: u.FileID}}})
	wantSlackError(t, "complete before the bytes", err, "file_not_found")
	// The bytes must be as long as announced.
	if err := client.UploadToURL(ctx, slack.UploadToURLParameters{UploadURL: u.UploadURL, Filename: "x.png", Content: "too long"}); err == nil {
		t.Error("upload of more bytes than announced succeeded")
	}
}

func TestUploadFailure(t *testing.T) {
	api := slacktest.NewAPI(t)
	api.Fail("files.getUploadURLExternal", "missing_scope", 1)
	_, err := slackclient.UploadFile(context.Background(), slackclient.NewClient(token, api.APIURL(), nil), slackclient.Upload{Name: "a.png", Data: []byte("x")})
	if slackclient.ErrorCode(err) != "missing_scope" {
		t.Errorf("UploadFile without files:write = %v, want missing_scope", err)
	}
	if api.CompletedFiles() != 0 {
		t.Error("a failed upload completed")
	}
}
