// Package htmlpage renders the HTML pages of templates/: plain HTML whose
// marked elements take their text, link or presence from the values a
// handler gives. golang.org/x/net/html parses the page and renders it,
// escaping every value filled in.
//
// Not html/template: executing a template looks methods up by name, so the
// linker must keep every exported method of every type the binary could
// reach. That kept the encoders of every EC2 API operation, and more:
// Charlize's binary was 95 MB instead of 38, and 50 MB resident when idle
// instead of 29. A test in cmd/charlize keeps it that way.
//
// The marks, which are not rendered:
//
//	data-fill="Key"       the element's content becomes the value, as text
//	data-fill-href="Key"  the element gets href="value"
//	data-fill-if="Key"    the element is kept only when the value is not empty
//	data-fill-each="Key"  the element is repeated for each item of a list,
//	                      with the item as its text, the copies separated by ", "
//
// A mark whose key has no value is an error (but for data-fill-if, where no
// value means "leave it out"), so that a page and its handler cannot drift
// apart unnoticed.
package htmlpage

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// Values are what a page is filled with: strings, or []string for
// data-fill-each.
type Values map[string]any

// Page is a page of a layout: the layout is a whole document, and the
// page's own HTML becomes the content of its <body>.
type Page struct {
	layout, body []byte
}

// Load reads layout and page from fsys and checks that they parse.
func Load(fsys fs.FS, layout, page string) (*Page, error) {
	b, err := fs.ReadFile(fsys, page)
	if err != nil {
		return nil, fmt.Errorf("htmlpage: %w", err)
	}
	return load(fsys, layout, b)
}

// LoadDocument reads a page that is a whole document of its own.
func LoadDocument(fsys fs.FS, name string) (*Page, error) {
	return load(fsys, name, nil)
}

func load(fsys fs.FS, layout string, body []byte) (*Page, error) {
	l, err := fs.ReadFile(fsys, layout)
	if err != nil {
		return nil, fmt.Errorf("htmlpage: %w", err)
	}
	p := &Page{layout: l, body: body}
	if _, err := p.document(); err != nil {
		return nil, err
	}
	return p, nil
}

// Render writes the page filled with v.
func (p *Page) Render(w io.Writer, v Values) error {
	doc, err := p.document()
	if err != nil {
		return err
	}
	if err := fill(doc, v); err != nil {
		return err
	}
	return html.Render(w, doc)
}

// document parses a fresh tree for each rendering: filling changes it.
func (p *Page) document() (*html.Node, error) {
	doc, err := html.Parse(bytes.NewReader(p.layout))
	if err != nil {
		return nil, fmt.Errorf("htmlpage: layout: %w", err)
	}
	if p.body == nil {
		return doc, nil
	}
	var body *html.Node
	for n := range doc.Descendants() {
		if n.Type == html.ElementNode && n.DataAtom == atom.Body {
			body = n
			break
		}
	}
	if body == nil {
		return nil, fmt.Errorf("htmlpage: the layout has no <body>")
	}
	nodes, err := html.ParseFragment(bytes.NewReader(p.body), body)
	if err != nil {
		return nil, fmt.Errorf("htmlpage: page: %w", err)
	}
	for _, n := range nodes {
		body.AppendChild(n)
	}
	return doc, nil
}

const (
	markText = "data-fill"
	markHref = "data-fill-href"
	markIf   = "data-fill-if"
	markEach = "data-fill-each"
)

// fill applies the marks below n (n included) and removes them.
func fill(n *html.Node, v Values) error {
	for c := n.FirstChild; c != nil; {
		next := c.NextSibling // c may be removed or repeated
		if err := fillElement(c, v); err != nil {
			return err
		}
		c = next
	}
	return nil
}

func fillElement(n *html.Node, v Values) error {
	if n.Type != html.ElementNode {
		return nil
	}
	marks := map[string]string{}
	n.Attr = slices.DeleteFunc(n.Attr, func(a html.Attribute) bool {
		if a.Key == markText || strings.HasPrefix(a.Key, markText+"-") {
			marks[a.Key] = a.Val
			return true
		}
		return false
	})
	for key := range marks {
		if key != markText && key != markHref && key != markIf && key != markEach {
			return fmt.Errorf("htmlpage: unknown mark %s", key)
		}
	}
	if key, ok := marks[markIf]; ok && empty(v[key]) {
		n.Parent.RemoveChild(n)
		return nil
	}
	if key, ok := marks[markHref]; ok {
		s, err := text(v, key)
		if err != nil {
			return err
		}
		n.Attr = slices.DeleteFunc(n.Attr, func(a html.Attribute) bool { return a.Key == "href" })
		n.Attr = append(n.Attr, html.Attribute{Key: "href", Val: s})
	}
	if key, ok := marks[markEach]; ok {
		items, ok := v[key].([]string)
		if !ok {
			return fmt.Errorf("htmlpage: %s=%q needs a list", markEach, key)
		}
		for i, item := range items {
			if i > 0 {
				n.Parent.InsertBefore(&html.Node{Type: html.TextNode, Data: ", "}, n)
			}
			c := &html.Node{Type: html.ElementNode, Data: n.Data, DataAtom: n.DataAtom, Namespace: n.Namespace, Attr: slices.Clone(n.Attr)}
			c.AppendChild(&html.Node{Type: html.TextNode, Data: item})
			n.Parent.InsertBefore(c, n)
		}
		n.Parent.RemoveChild(n)
		return nil
	}
	if key, ok := marks[markText]; ok {
		s, err := text(v, key)
		if err != nil {
			return err
		}
		for n.FirstChild != nil {
			n.RemoveChild(n.FirstChild)
		}
		n.AppendChild(&html.Node{Type: html.TextNode, Data: s})
		return nil
	}
	return fill(n, v)
}

func text(v Values, key string) (string, error) {
	s, ok := v[key].(string)
	if !ok {
		return "", fmt.Errorf("htmlpage: no text for %q", key)
	}
	return s, nil
}

func empty(x any) bool {
	switch x := x.(type) {
	case string:
		return x == ""
	case []string:
		return len(x) == 0
	}
	return x == nil
}
