package templates

import (
	"bytes"
	"embed"
	"fmt"
	htmltemplate "html/template"
	"io"
	"io/fs"
	"path"
	"slices"
	"strings"
)

//go:embed web
var webFiles embed.FS

// The public pages, one file each under web/ beside web/layout.html.
const (
	PageMessage     = "message"          // a title and a few paragraphs: outcomes and errors
	PageSubscribe   = "subscribe"        // the hosted sign-up form
	PageUnsubscribe = "unsubscribe"      // the button that unsubscribes
	PagePreferences = "preferences"      // topics, leave everything, delete
	PageErase       = "erase"            // the confirmation step of "delete everything"
	PageInquiry     = "inquiry"          // the hosted inquiry form
	PageReceived    = "inquiry_received" // an inquiry taken: crisis resources and the booking link
	PageAdmin       = "admin"            // the admin's summary: status as tables
	PageAdminPerson = "admin_person"     // one subscriber, found by address, to unsubscribe or erase
	PageAdminList   = "admin_list"       // the subscribers, a page at a time
)

// Page is the data of every public web page. Practice is shown in the header
// and the title; the other fields are used by the pages that need them.
type Page struct {
	Practice      string
	PostalAddress string
	Title         string
	Paragraphs    []string
	Link          *Link             // one link below the text, if any
	Action        string            // the path a page's forms post to
	Form          SignupFields      // what the person typed, shown again after an error
	Errors        map[string]string // by field name ("email", "form")
	Topics        []TopicChoice
	// PostsAs is the choice between each post and a weekly digest (field
	// "posts_as"), offered while a feed is sent as a digest.
	PostsAs  []Choice
	Stamp    string // the signed time the form was served (field "ts")
	ReturnTo string
	Inquiry  InquiryFields // the inquiry form, as typed
	Zones    []Choice      // the inquiry form's time zones
	Crisis   string        // where to turn in a crisis (inquiries.crisis_resources)
	Admin    []Table       // the admin page's tables
	Held     []HeldPost    // the admin page's posts held for approval
	HeldMore int           // held posts beyond those in Held
	Person   *AdminPerson  // the admin's view of one subscriber
	// Campaigns are the admin page's campaigns not yet over.
	Campaigns []AdminCampaign
	Filters   []Link // the subscriber list's choices of status; the current one has no URL
}

// AdminCampaign is a campaign not yet over, as the admin page lists it.
type AdminCampaign struct {
	ID, Subject, Audience, State, When, Progress string
}

// AdminPerson is one subscriber as the admin page shows them: what they
// are, and what an unsubscribe or an erasure would take.
type AdminPerson struct {
	ID, Email, Name, Status, Topics, Since, Consent string
	Emails                                          int  // ledger rows addressed to them
	Mailable                                        bool // active or pending: an unsubscribe changes something
}

// HeldPost is a post held for approval, as the admin page lists it.
type HeldPost struct {
	ID, Title, URL, Feed, Published string
}

// Table is one titled table of the admin page: the first cell of each row
// heads it; with Numbers, the others are counts, right-aligned. Empty is
// said when it has no rows, Note above it (a source that failed).
type Table struct {
	ID, Title, Note, Empty string
	Head                   []string
	Rows                   [][]string
	Numbers                bool
}

// InquiryFields are the inquiry form's fields, shown again after an error.
type InquiryFields struct {
	Name, Email, Phone, Message, PreferredTime string
	Consent, News                              bool
}

// Choice is one option of a select.
type Choice struct {
	Value, Label string
	Selected     bool
}

// Link is a link with its text.
type Link struct{ URL, Text string }

// SignupFields are the sign-up form's text fields.
type SignupFields struct{ Email, Name string }

// TopicChoice is one topic checkbox.
type TopicChoice struct {
	Value, Label string
	Checked      bool
}

// Pages renders the public web pages. It is safe for concurrent use.
type Pages struct {
	pages map[string]*htmltemplate.Template
	css   []byte
}

// NewPages parses every embedded page once. It returns an error naming the
// file at fault, so that a broken template stops the program at start rather
// than at the first visitor.
func NewPages() (*Pages, error) { return loadPages(webFiles, "web") }

func loadPages(fsys fs.FS, root string) (*Pages, error) {
	css, err := fs.ReadFile(fsys, path.Join(root, "site.css"))
	if err != nil {
		return nil, fmt.Errorf("templates: %w", err)
	}
	base := htmltemplate.New("root").Funcs(htmltemplate.FuncMap(funcs))
	if err := parseHTML(fsys, base, path.Join(root, layout+".html")); err != nil {
		return nil, err
	}
	entries, err := fs.ReadDir(fsys, root)
	if err != nil {
		return nil, fmt.Errorf("templates: %w", err)
	}
	p := &Pages{pages: make(map[string]*htmltemplate.Template), css: css}
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".html")
		if !ok || name == layout {
			continue
		}
		t, err := base.Clone()
		if err != nil {
			return nil, fmt.Errorf("templates: %s: %w", e.Name(), err)
		}
		file := path.Join(root, e.Name())
		if err := parseHTML(fsys, t, file); err != nil {
			return nil, err
		}
		if t.Lookup("content") == nil {
			return nil, fmt.Errorf("templates: %s: defines no \"content\" template", file)
		}
		if err := escapeNow(t); err != nil {
			return nil, fmt.Errorf("templates: %s: %w", file, err)
		}
		p.pages[name] = t
	}
	for _, want := range []string{PageMessage, PageSubscribe, PageUnsubscribe, PagePreferences, PageErase} {
		if p.pages[want] == nil {
			return nil, fmt.Errorf("templates: %s: missing", path.Join(root, want+".html"))
		}
	}
	return p, nil
}

// Names returns the names of all pages, sorted.
func (p *Pages) Names() []string {
	names := make([]string, 0, len(p.pages))
	for n := range p.pages {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Render writes the page called name with data. The page is rendered into a
// buffer first, so a failure writes nothing and the caller can still answer
// with an error status.
func (p *Pages) Render(w io.Writer, name string, data Page) error {
	t, ok := p.pages[name]
	if !ok {
		return fmt.Errorf("templates: no page called %q", name)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, layout, data); err != nil {
		return fmt.Errorf("templates: page %s: %w", name, err)
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// CSS returns the pages' one stylesheet.
func (p *Pages) CSS() []byte { return p.css }
