package htmlpage_test

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/charlize-app/charlize/handlers/htmlpage"
)

var files = fstest.MapFS{
	"layout.html": {Data: []byte(`<!doctype html><html><head><title data-fill="Title">x</title></head><body></body></html>`)},
	"page.html": {Data: []byte(`<h1 data-fill="Heading">placeholder</h1>` +
		`<p data-fill-if="Code">Slack said: <code data-fill="Code"></code></p>` +
		`<p>Scopes: <code data-fill-each="Scopes"></code>.</p>` +
		`<a id="again" data-fill-href="Link">again</a>`)},
	"typo.html":  {Data: []byte(`<p data-fill-iff="Code"></p>`)},
	"whole.html": {Data: []byte(`<!doctype html><p>Acting in <span data-fill="Channel"></span></p>`)},
}

func render(t *testing.T, page string, v htmlpage.Values) (string, error) {
	t.Helper()
	p, err := htmlpage.Load(files, "layout.html", page)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	err = p.Render(&b, v)
	return b.String(), err
}

func TestRenderFillsTheMarkedElements(t *testing.T) {
	got, err := render(t, "page.html", htmlpage.Values{
		"Title": "Installed · Charlize", "Heading": "Charlize is installed in Ops", "Code": "invalid_code",
		"Scopes": []string{"commands", "chat:write"}, "Link": "/slack/install?a=1&b=2",
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`<title>Installed · Charlize</title>`,
		`<body><h1>Charlize is installed in Ops</h1>`,
		`<p>Slack said: <code>invalid_code</code></p>`,
		`<p>Scopes: <code>commands</code>, <code>chat:write</code>.</p>`,
		`<a id="again" href="/slack/install?a=1&amp;b=2">again</a>`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("page lacks %s:\n%s", want, got)
		}
	}
	if strings.Contains(got, "data-fill") || strings.Contains(got, "placeholder") {
		t.Errorf("marks or placeholder text left in the page:\n%s", got)
	}
}

// A team named by whoever installed the app, or an error code Slack sent
// back through the browser, must not become markup.
func TestRenderEscapesWhatItFillsIn(t *testing.T) {
	got, err := render(t, "page.html", htmlpage.Values{
		"Title": `</title><script>alert(1)</script>`, "Heading": `<img src=x onerror=alert(1)>`,
		"Code": `"><script>x</script>`, "Scopes": []string{`<b>`}, "Link": `" onclick="alert(1)`,
	})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(got, "<script") || strings.Contains(got, "<img") || strings.Contains(got, "<b>") || strings.Contains(got, `" onclick`) {
		t.Errorf("a value became markup:\n%s", got)
	}
	for _, want := range []string{`&lt;img src=x onerror=alert(1)&gt;`, `href="&#34; onclick=&#34;alert(1)"`} {
		if !strings.Contains(got, want) {
			t.Errorf("page lacks %s:\n%s", want, got)
		}
	}
}

func TestRenderLeavesOutWhatHasNoValue(t *testing.T) {
	got, err := render(t, "page.html", htmlpage.Values{
		"Title": "Failed", "Heading": "Installation failed", "Code": "", "Scopes": []string{}, "Link": "/",
	})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(got, "Slack said") {
		t.Errorf("an empty Code still shows its paragraph:\n%s", got)
	}
	if !strings.Contains(got, "<p>Scopes: .</p>") {
		t.Errorf("an empty list did not leave its place empty:\n%s", got)
	}
}

func TestRenderRefusesAPageAndValuesThatDisagree(t *testing.T) {
	if _, err := render(t, "page.html", htmlpage.Values{"Title": "t", "Scopes": []string{}, "Link": "/"}); err == nil {
		t.Error("a page rendered without the text of its heading")
	}
	if _, err := render(t, "page.html", htmlpage.Values{"Title": "t", "Heading": "h", "Scopes": "commands", "Link": "/"}); err == nil {
		t.Error("a list rendered from a string")
	}
	if _, err := render(t, "typo.html", htmlpage.Values{"Title": "t"}); err == nil {
		t.Error("a misspelt mark rendered as if it were not there")
	}
}

func TestLoadDocument(t *testing.T) {
	p, err := htmlpage.LoadDocument(files, "whole.html")
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := p.Render(&b, htmlpage.Values{"Channel": "#ops & more"}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "<p>Acting in <span>#ops &amp; more</span></p>") {
		t.Errorf("page:\n%s", b.String())
	}
	if _, err := htmlpage.Load(files, "layout.html", "missing.html"); err == nil {
		t.Error("Load of a missing page = nil error")
	}
}
