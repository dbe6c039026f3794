package mail

import (
	"bytes"
	"mime"
	netmail "net/mail"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	gomail "github.com/wneessen/go-mail"

	"github.com/practicemail/practicemail/internal/mail/mailtest"
)

const (
	phUnsub = "UNSUBSCRIBE_TOKEN_PLACEHOLDER_000000000000"
	phPrefs = "PREFS-TOKEN-PLACEHOLDER-0000000000000000"
)

func testContent() Content {
	long := strings.Repeat("A long line of text that goes on, café = ümlaut; ", 12)
	return Content{
		From:    "Stillpoint Counseling <hello@stillpoint.example>",
		ReplyTo: "hello@stillpoint.example",
		Subject: "New on the blog: Breath — and what it does",
		Text: "Hello,\n\nA new post: \"Breath\" (a=b, 100% ok).\n" + long + "\n" +
			"Unsubscribe: https://mail.stillpoint.example/unsubscribe/" + phUnsub + "\n" +
			"Preferences: https://mail.stillpoint.example/preferences/" + phPrefs + "\n",
		HTML: "<html><body><p style=\"color:#333\">Hello,</p><p>" + long + "</p>" +
			"<a href=\"https://mail.stillpoint.example/unsubscribe/" + phUnsub + "\">Unsubscribe</a> " +
			"<a href=\"https://mail.stillpoint.example/preferences/" + phPrefs + "\">Preferences</a></body></html>",
		Headers: map[string]string{
			"List-Unsubscribe":      "<https://mail.stillpoint.example/unsubscribe/" + phUnsub + ">",
			"List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
		},
		MessageIDDomain: "stillpoint.example",
	}
}

func token(c byte, n int) string { return strings.Repeat(string(c), n) }

func testRecipients() []Recipient {
	return []Recipient{
		{Address: "ana@example.com", Name: "Ana", MessageID: "d1.p1", Values: []string{token('a', len(phUnsub)), token('b', len(phPrefs))}},
		{Address: "zoe@example.org", Name: "Zoë Ünicode-Näme with a rather long display name", MessageID: "d2.p1", Values: []string{token('Z', len(phUnsub)), token('9', len(phPrefs))}},
		{Address: "pat@example.net", Name: `O"Brien, Pat`, MessageID: "d3.p1", Values: []string{token('-', len(phUnsub)), token('_', len(phPrefs))}},
		{Address: "nobody@example.net", MessageID: "d4.p1", Values: []string{token('x', len(phUnsub)), token('Y', len(phPrefs))}},
	}
}

// reference renders the message the slow way: go-mail with the values put
// into the source before encoding.
func reference(t *testing.T, c Content, r Recipient) []byte {
	t.Helper()
	sub := strings.NewReplacer(phUnsub, r.Values[0], phPrefs, r.Values[1])
	c.Text, c.HTML = sub.Replace(c.Text), sub.Replace(c.HTML)
	hdrs := map[string]string{}
	for k, v := range c.Headers {
		hdrs[k] = sub.Replace(v)
	}
	c.Headers = hdrs
	m := gomail.NewMsg(gomail.WithEncoding(gomail.EncodingQP), gomail.WithNoDefaultUserAgent())
	if err := m.From(c.From); err != nil {
		t.Fatal(err)
	}
	_ = m.ReplyTo(c.ReplyTo)
	if err := m.To((&netmail.Address{Name: r.Name, Address: r.Address}).String()); err != nil {
		t.Fatal(err)
	}
	m.Subject(c.Subject)
	m.SetMessageIDWithValue(r.MessageID + "@" + c.MessageIDDomain)
	for k, v := range c.Headers {
		m.SetGenHeader(gomail.Header(k), v)
	}
	m.SetBodyString(gomail.TypeTextPlain, c.Text)
	m.AddAlternativeString(gomail.TypeTextHTML, c.HTML)
	var buf bytes.Buffer
	if _, err := m.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// normalise makes two renderings comparable: same boundary, no Date.
func normalise(t *testing.T, msg []byte) (map[string][]string, []byte) {
	t.Helper()
	p := mailtest.Parse(t, msg)
	_, params, err := mime.ParseMediaType(p.Header.Get("Content-Type"))
	if err != nil {
		t.Fatal(err)
	}
	body := msg[bytes.Index(msg, []byte("\r\n\r\n"))+4:]
	body = bytes.ReplaceAll(body, []byte(params["boundary"]), []byte("BOUNDARY"))
	h := map[string][]string(p.Header)
	delete(h, "Date")
	h["Content-Type"] = []string{strings.ReplaceAll(p.Header.Get("Content-Type"), params["boundary"], "BOUNDARY")}
	return h, body
}

func TestPreparedMatchesGoMail(t *testing.T) {
	c := testContent()
	p, err := Prepare(c, []string{phUnsub, phPrefs})
	if err != nil {
		t.Fatalf("Prepare: %v", err)
	}
	for _, r := range testRecipients() {
		t.Run(r.Address, func(t *testing.T) {
			var buf bytes.Buffer
			if _, err := p.WriteTo(&buf, r); err != nil {
				t.Fatalf("WriteTo: %v", err)
			}
			gotH, gotB := normalise(t, buf.Bytes())
			wantH, wantB := normalise(t, reference(t, c, r))
			if d := cmp.Diff(wantH, gotH); d != "" {
				t.Errorf("headers differ from go-mail (-want +got):\n%s", d)
			}
			if d := cmp.Diff(string(wantB), string(gotB)); d != "" {
				t.Errorf("body differs from go-mail (-want +got):\n%s", d)
			}
			parsed := mailtest.Parse(t, buf.Bytes())
			sub := strings.NewReplacer(phUnsub, r.Values[0], phPrefs, r.Values[1], "\n", "\r\n")
			if want := sub.Replace(c.Text); parsed.TextPart != want {
				t.Errorf("text part:\n got %q\nwant %q", parsed.TextPart, want)
			}
			if want := sub.Replace(c.HTML); parsed.HTMLPart != want {
				t.Errorf("html part:\n got %q\nwant %q", parsed.HTMLPart, want)
			}
			if got := parsed.Header.Get("List-Unsubscribe"); !strings.Contains(got, r.Values[0]) {
				t.Errorf("List-Unsubscribe = %q, want the recipient's token", got)
			}
		})
	}
}

// TestPreparedPlaceholderAtEveryColumn puts a placeholder at every column of
// a quoted-printable line, so that soft line breaks fall inside it.
func TestPreparedPlaceholderAtEveryColumn(t *testing.T) {
	for col := 0; col < 80; col++ {
		c := testContent()
		c.Text = strings.Repeat("x", col) + phUnsub + " and é=" + phPrefs + strings.Repeat("y", 70)
		c.HTML = strings.Repeat("é", col) + phPrefs + phUnsub
		p, err := Prepare(c, []string{phUnsub, phPrefs})
		if err != nil {
			t.Fatalf("col %d: Prepare: %v", col, err)
		}
		r := testRecipients()[1]
		var buf bytes.Buffer
		if _, err := p.WriteTo(&buf, r); err != nil {
			t.Fatal(err)
		}
		_, gotB := normalise(t, buf.Bytes())
		_, wantB := normalise(t, reference(t, c, r))
		if !bytes.Equal(gotB, wantB) {
			t.Fatalf("col %d: body differs from go-mail:\n%s\n---\n%s", col, gotB, wantB)
		}
	}
}

func TestPrepareRefuses(t *testing.T) {
	tests := map[string]struct {
		edit func(*Content)
		phs  []string
	}{
		"placeholder with dot":     {func(*Content) {}, []string{"A.B"}},
		"nested placeholders":      {func(*Content) {}, []string{"ABC", "ABCD"}},
		"placeholder in subject":   {func(c *Content) { c.Subject = "hi " + phUnsub }, []string{phUnsub, phPrefs}},
		"reserved header":          {func(c *Content) { c.Headers = map[string]string{"To": "x@example.com"} }, nil},
		"header value with CRLF":   {func(c *Content) { c.Headers = map[string]string{"X-A": "a\r\nBcc: x@y"} }, nil},
		"no body":                  {func(c *Content) { c.Text, c.HTML = "", "" }, nil},
		"bad from":                 {func(c *Content) { c.From = "not an address" }, nil},
		"header field name colon":  {func(c *Content) { c.Headers = map[string]string{"X:A": "a"} }, nil},
		"message id domain spaces": {func(c *Content) { c.MessageIDDomain = "a b" }, nil},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			c := testContent()
			tt.edit(&c)
			if _, err := Prepare(c, tt.phs); err == nil {
				t.Error("Prepare succeeded")
			}
		})
	}
}

func TestWriteToRefusesBadRecipients(t *testing.T) {
	p, err := Prepare(testContent(), []string{phUnsub, phPrefs})
	if err != nil {
		t.Fatal(err)
	}
	good := testRecipients()[0]
	tests := map[string]func(*Recipient){
		"too few values":      func(r *Recipient) { r.Values = r.Values[:1] },
		"short value":         func(r *Recipient) { r.Values = []string{"abc", r.Values[1]} },
		"value with newline":  func(r *Recipient) { r.Values = []string{"\n" + r.Values[0][1:], r.Values[1]} },
		"address with CRLF":   func(r *Recipient) { r.Address = "a@b\r\nBcc: c@d" },
		"name with CRLF":      func(r *Recipient) { r.Name = "Ana\r\nBcc: c@d" },
		"empty message id":    func(r *Recipient) { r.MessageID = "" },
		"message id with '>'": func(r *Recipient) { r.MessageID = "a>b" },
	}
	for name, edit := range tests {
		t.Run(name, func(t *testing.T) {
			r := good
			r.Values = append([]string(nil), good.Values...)
			edit(&r)
			if _, err := p.WriteTo(&bytes.Buffer{}, r); err == nil {
				t.Error("WriteTo succeeded")
			}
		})
	}
}

func TestPreparedDate(t *testing.T) {
	p, err := Prepare(testContent(), []string{phUnsub, phPrefs})
	if err != nil {
		t.Fatal(err)
	}
	fixed := time.Date(2026, 1, 6, 9, 0, 0, 0, time.UTC)
	p.now = func() time.Time { return fixed }
	var buf bytes.Buffer
	if _, err := p.WriteTo(&buf, testRecipients()[0]); err != nil {
		t.Fatal(err)
	}
	h := mailtest.Parse(t, buf.Bytes()).Header
	if got, err := h.Date(); err != nil || !got.Equal(fixed) {
		t.Errorf("Date = %v, %v; want %v", got, err, fixed)
	}
	if got := h.Get("Message-ID"); got != "<d1.p1@stillpoint.example>" {
		t.Errorf("Message-ID = %q", got)
	}
}

// TestAppendDataIsStuffedAppendTo checks that the DATA content Prepare
// stuffs once equals stuffing each recipient's message, with dots at the
// start of lines, of the body, and next to placeholders in every column.
func TestAppendDataIsStuffedAppendTo(t *testing.T) {
	for col := 0; col < 80; col += 7 {
		c := testContent()
		c.Text = ".first\n..second\n.\n" + strings.Repeat("x", col) + phUnsub + "\n." + phPrefs + "\n" + c.Text
		c.HTML = ".<p>" + strings.Repeat("é", col) + phPrefs + "</p>\n.\n" + c.HTML
		p, err := Prepare(c, []string{phUnsub, phPrefs})
		if err != nil {
			t.Fatalf("col %d: Prepare: %v", col, err)
		}
		fixed := time.Date(2026, 1, 6, 9, 0, 0, 0, time.UTC)
		p.now = func() time.Time { return fixed }
		for _, r := range testRecipients() {
			msg, err := p.AppendTo(nil, r)
			if err != nil {
				t.Fatal(err)
			}
			got, err := p.AppendData(nil, r)
			if err != nil {
				t.Fatal(err)
			}
			if want := appendDotStuffed(nil, msg); !bytes.Equal(got, want) {
				t.Fatalf("col %d, %s: AppendData differs from stuffing AppendTo:\n%s\n---\n%s", col, r.Address, got, want)
			}
		}
	}
}
