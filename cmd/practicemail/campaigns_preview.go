package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
)

const previewCampaignHelp = "render campaign ID as a subscriber called Sam would get it\n\n" +
	"The body is rendered by the worker's own path (sanitised, merge fields filled, in the practice's\n" +
	"layout); the unsubscribe and preferences links are samples. Without --out, the subject, the text part\n" +
	"and the HTML part go to standard output; with it, campaign-ID.html and campaign-ID.txt are written in DIR."

// cmdPreviewCampaign is `preview campaign ID [--out DIR]`.
func cmdPreviewCampaign(ctx context.Context, m *Main, fs *flag.FlagSet, args []string) error {
	out := fs.String("out", "", "write campaign-ID.html and campaign-ID.txt in this directory instead of printing them")
	a, c, err := m.loadCampaign(ctx, fs, args, "practicemail preview campaign ID [--out DIR]")
	if err != nil {
		return err
	}
	defer a.Close()
	r, err := a.renderCampaign(c, "Sam")
	if err != nil {
		return err
	}
	if *out == "" {
		fmt.Fprintf(m.Stdout, "campaign %d (%s), to %s\nSubject: %s\n\n--- text ---\n%s\n--- html ---\n%s\n",
			c.ID, c.State, c.Audience, r.Subject, r.Text, r.HTML)
		return nil
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return fmt.Errorf("preview: %w", err)
	}
	name := filepath.Join(*out, fmt.Sprintf("campaign-%d", c.ID))
	if err := os.WriteFile(name+".html", []byte(r.HTML), 0o644); err != nil {
		return fmt.Errorf("preview: %w", err)
	}
	if err := os.WriteFile(name+".txt", []byte("Subject: "+r.Subject+"\n\n"+r.Text), 0o644); err != nil {
		return fmt.Errorf("preview: %w", err)
	}
	fmt.Fprintf(m.Stdout, "wrote %s.html and %s.txt\n", name, name)
	return nil
}
