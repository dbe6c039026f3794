package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/practicemail/practicemail/internal/config"
	"github.com/practicemail/practicemail/internal/links"
	"github.com/practicemail/practicemail/internal/mail"
	"github.com/practicemail/practicemail/internal/store"
	"github.com/practicemail/practicemail/sequences"
	"github.com/practicemail/practicemail/templates"
)

var previewCommands = []command{
	{"sequence", "NAME STEP [--out DIR]", "render step STEP (1 is the first) of sequence NAME with sample data, as it would be sent\n\n" +
		"The sequences are loaded from sequences.dir, as the worker loads them, against the built-in email\n" +
		"templates: a file the worker would refuse is refused here, with its file and line. Without --out,\n" +
		"the subject, the text part and the HTML part go to standard output; with it, NAME-STEP.html and\n" +
		"NAME-STEP.txt are written in DIR, to open in a browser or an editor.", cmdPreviewSequence},
	{"post", "URL-or-GUID [--out DIR]", "render the email of a stored post exactly as a subscriber gets it\n\n" +
		"The post is found in the database by its link or its GUID (the newest if several match) and rendered\n" +
		"by the worker's own code, whatever its state; the links personal to each subscriber carry\n" +
		previewToken + " instead of a token. Without --out, the subject, the text part and the HTML part go\n" +
		"to standard output; with it, post-ID.html and post-ID.txt are written in DIR.", cmdPreviewPost},
	{"campaign", "ID [--out DIR]", previewCampaignHelp, cmdPreviewCampaign},
}

func cmdPreview(ctx context.Context, m *Main, fs *flag.FlagSet, args []string) error {
	return subcommands(ctx, m, fs, previewCommands, args)
}

func cmdPreviewSequence(ctx context.Context, m *Main, fs *flag.FlagSet, args []string) error {
	out := fs.String("out", "", "write NAME-STEP.html and NAME-STEP.txt in this directory instead of printing them")
	configPath, rest, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(rest) != 2 {
		return errors.New("usage: practicemail preview sequence NAME STEP [--out DIR]")
	}
	step, err := strconv.Atoi(rest[1])
	if err != nil || step < 1 {
		return usageError{fmt.Errorf("STEP must be a step number, 1 for the first (got %q)", rest[1])}
	}
	cfg, err := m.loadConfig(configPath)
	if err != nil {
		return err
	}
	eng, err := templates.New()
	if err != nil {
		return fmt.Errorf("templates: %w", err)
	}
	seq, err := loadSequence(cfg.Sequences.Dir, rest[0], eng)
	if err != nil {
		return err
	}
	if step > len(seq.Steps) {
		return fmt.Errorf("sequence %s has %s: no step %d", seq.Name, count(len(seq.Steps), "step"), step)
	}
	st := seq.Steps[step-1]
	d := sampleInquiryEmail(cfg)
	d.Preview = st.Preview
	r, err := eng.Render(st.Template, d)
	if err != nil {
		return err
	}
	r.Subject = st.Subject // a sequence step's subject is the sequence's
	if *out != "" {
		return writePreview(m.Stdout, *out, fmt.Sprintf("%s-%d", seq.Name, step), seq, step, r)
	}
	writeHeading(m.Stdout, seq, step)
	fmt.Fprintf(m.Stdout, "\n--- text ---\n%s\n--- html ---\n%s\n", r.Text, r.HTML)
	return nil
}

// loadSequence loads the sequences of dir, as the worker does, and
// returns the one called name.
func loadSequence(dir, name string, eng *templates.Engine) (*sequences.Sequence, error) {
	set, err := loadSequences(dir, eng)
	if err != nil {
		return nil, err
	}
	seq, ok := set[name]
	if !ok {
		where := dir
		if where == "" {
			where = "the built-in sequences"
		}
		names := slices.Sorted(maps.Keys(set))
		return nil, fmt.Errorf("no sequence %q in %s (it has: %s)", name, where, strings.Join(names, ", "))
	}
	return seq, nil
}

// sampleInquiryEmail is what a step is rendered with: the configured
// practice, a person called Sam, and links that lead nowhere real.
func sampleInquiryEmail(cfg *config.Config) templates.InquiryEmail {
	p := cfg.Practice
	base := strings.TrimSuffix(p.BaseURL, "/")
	return templates.InquiryEmail{
		Practice:   p.Name,
		Name:       "Sam",
		BookingURL: orSample(p.BookingURL, base+"/consult"),
		Footer: templates.Footer{
			PracticeName:   p.Name,
			PostalAddress:  orSample(p.PostalAddress, "(practice.postal_address)"),
			UnsubscribeURL: base + "/unsubscribe/PREVIEW-TOKEN",
			PreferencesURL: base + "/unsubscribe/PREVIEW-TOKEN",
			Marketing:      true,
		},
	}
}

func orSample(v, sample string) string {
	if v == "" {
		return sample
	}
	return v
}

// writeHeading says which step this is and what a reader's inbox shows.
func writeHeading(w io.Writer, seq *sequences.Sequence, step int) {
	st := seq.Steps[step-1]
	fmt.Fprintf(w, "sequence %s, step %d of %d: template %s, sent %s\n", seq.Name, step, len(seq.Steps), st.Template, after(st))
	if seq.Sender != "" {
		fmt.Fprintf(w, "From name: %s\n", seq.Sender)
	}
	fmt.Fprintf(w, "Subject: %s\n", st.Subject)
	if st.Preview != "" {
		fmt.Fprintf(w, "Preview: %s\n", st.Preview)
	}
}

func after(st sequences.Step) string {
	if st.Immediate() {
		return "at once"
	}
	return st.After.String() + " after the inquiry, within the sequence's window"
}

// writePreview writes name.html and name.txt in dir and says so.
func writePreview(w io.Writer, dir, name string, seq *sequences.Sequence, step int, r templates.Rendered) error {
	htmlPath, textPath, err := writePreviewFiles(dir, name, r)
	if err != nil {
		return err
	}
	writeHeading(w, seq, step)
	fmt.Fprintf(w, "wrote %s and %s\n", htmlPath, textPath)
	return nil
}

// writePreviewFiles writes r's HTML part as name.html and its subject and
// text part as name.txt in dir, and returns their paths.
func writePreviewFiles(dir, name string, r templates.Rendered) (htmlPath, textPath string, err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", "", fmt.Errorf("preview: %w", err)
	}
	htmlPath, textPath = filepath.Join(dir, name+".html"), filepath.Join(dir, name+".txt")
	for path, body := range map[string]string{htmlPath: r.HTML, textPath: "Subject: " + r.Subject + "\n\n" + r.Text} {
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			return "", "", fmt.Errorf("preview: %w", err)
		}
	}
	return htmlPath, textPath, nil
}

// previewToken stands in a preview for the token of each subscriber's own
// links.
const previewToken = "PREVIEW-TOKEN"

// cmdPreviewPost renders a stored post with the worker's code (the
// templates, the footer, the links) and shows what a subscriber receives.
func cmdPreviewPost(ctx context.Context, m *Main, fs *flag.FlagSet, args []string) error {
	out := fs.String("out", "", "write post-ID.html and post-ID.txt in this directory instead of printing them")
	a, ref, err := m.parseAndOpen(ctx, fs, args, needs{}, "practicemail preview post URL-or-GUID [--out DIR]")
	if err != nil {
		return err
	}
	defer a.Close()
	post, err := a.DB.PostByLink(ctx, ref)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("no stored post has the link or GUID %q; a post is stored once a poll has seen it", ref)
	}
	if err != nil {
		return err
	}
	if err := a.buildWorker(m.WorkerOptions); err != nil {
		return err
	}
	c, err := a.Worker.PostContent(post)
	if err != nil {
		return fmt.Errorf("post %d cannot be rendered: %w", post.ID, err)
	}
	r := withPreviewTokens(c)
	heading := fmt.Sprintf("post %d (%s): %s\nFrom: %s\nSubject: %s\n", post.ID, post.State, cmp.Or(post.URL, post.GUID), c.From, r.Subject)
	if *out != "" {
		htmlPath, textPath, err := writePreviewFiles(*out, fmt.Sprintf("post-%d", post.ID), r)
		if err != nil {
			return err
		}
		fmt.Fprintf(m.Stdout, "%swrote %s and %s\n", heading, htmlPath, textPath)
		return nil
	}
	fmt.Fprintf(m.Stdout, "%s\n--- text ---\n%s\n--- html ---\n%s\n", heading, r.Text, r.HTML)
	return nil
}

// withPreviewTokens is c with previewToken where each subscriber's tokens
// go: what the mail path substitutes in the encoded message, done here on
// the decoded parts.
func withPreviewTokens(c mail.Content) templates.Rendered {
	var pairs []string
	for _, p := range []links.Purpose{links.Unsubscribe, links.Preferences, links.Confirm, links.StopSequence} {
		pairs = append(pairs, links.Placeholder(p), previewToken)
	}
	rep := strings.NewReplacer(pairs...)
	return templates.Rendered{Subject: c.Subject, HTML: rep.Replace(c.HTML), Text: rep.Replace(c.Text)}
}
