package slacktest

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/charlize-app/charlize/handlers/slackreq"
)

// The external upload flow, as Slack runs it: files.getUploadURLExternal
// hands out an upload URL and a file id, the bytes are POSTed there
// (multipart field "file"), and files.completeUploadExternal finishes the
// upload. Only completed files exist for Block Kit: an image block whose
// slack_file names any other id is refused with invalid_blocks, as Slack
// refuses "invalid slack file".

// MethodUpload is the Call.Method of the POST of a file's bytes to its
// upload URL.
const MethodUpload = "upload"

// File is a file uploaded through the external upload flow.
type File struct {
	ID, Name, Title, AltText string
	Length                   int    // as announced to files.getUploadURLExternal
	Data                     []byte // as POSTed to the upload URL
	Completed                bool   // files.completeUploadExternal finished it
	// Channels it was shared to on completion; none keeps it private to
	// the uploader (the bot), which may still show it in its messages.
	Channels []string
}

type upload struct {
	File
	uploaded bool
}

// Files returns the files uploaded so far, in the order their uploads
// started.
func (a *API) Files() []File {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]File, 0, len(a.fileOrder))
	for _, id := range a.fileOrder {
		f := a.files[id].File
		f.Data = append([]byte{}, f.Data...)
		f.Channels = append([]string{}, f.Channels...)
		out = append(out, f)
	}
	return out
}

// CompletedFiles counts the files whose upload was completed.
func (a *API) CompletedFiles() int {
	n := 0
	for _, f := range a.Files() {
		if f.Completed {
			n++
		}
	}
	return n
}

func (a *API) getUploadURLLocked(q *request) answer {
	name, length := q.Param("filename"), q.Param("length")
	n, err := strconv.Atoi(length)
	switch {
	case name == "":
		return slackErr("invalid_arguments")
	case err != nil || n <= 0:
		return slackErr("invalid_arguments")
	}
	id := fmt.Sprintf("F%010d", a.nextLocked())
	a.files[id] = &upload{File: File{ID: id, Name: name, AltText: q.Param("alt_txt"), Length: n}}
	a.fileOrder = append(a.fileOrder, id)
	return ok(map[string]any{"upload_url": a.srv.URL + "/upload/" + id, "file_id": id})
}

func (a *API) completeUploadLocked(q *request) answer {
	var files []struct {
		ID    string `json:"id"`
		Title string `json:"title"`
	}
	if err := json.Unmarshal([]byte(q.Param("files")), &files); err != nil || len(files) == 0 {
		return slackErr("invalid_arguments")
	}
	var out []any
	for _, f := range files {
		u, found := a.files[f.ID]
		if !found || !u.uploaded {
			return slackErr("file_not_found")
		}
		u.Completed, u.Title = true, f.Title
		if ch := q.Param("channel_id"); ch != "" {
			u.Channels = append(u.Channels, ch)
		}
		for ch := range strings.SplitSeq(q.Param("channels"), ",") {
			if ch != "" {
				u.Channels = append(u.Channels, ch)
			}
		}
		out = append(out, map[string]any{"id": u.ID, "title": u.Title})
	}
	return ok(map[string]any{"files": out})
}

// uploadBytes answers the POST of a file's bytes to its upload URL: 200
// "OK - <length>", as Slack's upload host does.
func (a *API) uploadBytes(r *http.Request, id string, body []byte) answer {
	c := Call{Method: MethodUpload, Time: time.Now(), Token: slackreq.Bearer(r)}
	data, perr := multipartFile(r, body)

	a.mu.Lock()
	defer a.mu.Unlock()
	var ans answer
	u, found := a.files[id]
	switch {
	case r.Method != http.MethodPost:
		ans = answer{status: http.StatusMethodNotAllowed, text: "method_not_allowed", err: "method_not_allowed"}
	case !found:
		ans = answer{status: http.StatusNotFound, text: "not_found", err: "not_found"}
	case perr != nil:
		ans = answer{status: http.StatusBadRequest, text: "invalid_payload", err: "invalid_payload"}
	case len(data) != u.Length:
		// Slack checks the bytes against the length announced for the URL.
		ans = answer{status: http.StatusBadRequest, text: "length_mismatch", err: "length_mismatch"}
	default:
		u.Data, u.uploaded = data, true
		ans = answer{status: http.StatusOK, text: "OK - " + strconv.Itoa(len(data))}
	}
	a.recordLocked(c, ans)
	return ans
}

func multipartFile(r *http.Request, body []byte) ([]byte, error) {
	_, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		return nil, err
	}
	mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	for {
		p, err := mr.NextPart()
		if err != nil {
			return nil, fmt.Errorf("no file part: %w", err)
		}
		if p.FormName() == "file" {
			return io.ReadAll(p)
		}
	}
}

// unknownSlackFileLocked returns the id of the first slack_file in blocks
// (image blocks and image elements, at any depth) that is not a completed
// upload, or "".
func (a *API) unknownSlackFileLocked(blocks any) string {
	if raw, isRaw := blocks.(json.RawMessage); isRaw {
		if raw == nil || json.Unmarshal(raw, &blocks) != nil {
			return ""
		}
	}
	var walk func(any) string
	walk = func(v any) string {
		switch x := v.(type) {
		case map[string]any:
			if sf, ok := x["slack_file"].(map[string]any); ok {
				id, _ := sf["id"].(string)
				if u, found := a.files[id]; !found || !u.Completed {
					return cmp.Or(id, "<no id>")
				}
			}
			for _, e := range x {
				if id := walk(e); id != "" {
					return id
				}
			}
		case []any:
			for _, e := range x {
				if id := walk(e); id != "" {
					return id
				}
			}
		}
		return ""
	}
	return walk(blocks)
}
