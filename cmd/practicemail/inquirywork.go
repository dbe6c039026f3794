package main

import (
	"fmt"

	"github.com/practicemail/practicemail/sequences"
	"github.com/practicemail/practicemail/templates"
	"github.com/practicemail/practicemail/worker"
)

// inquiryWork hands the worker what its inquiry tasks need: the retention
// of messages and the booking link always; and, when the inquiry routes
// are on (practice.notify_email), the sealer that opens messages for the
// practice's notification, the sequences of sequences.dir (a file that
// does not load stops the start, with every problem at file:line), where
// notifications go and whether the mail transport may carry them
// (verified TLS). With a data key but the routes off, the sealer is still
// handed over, so that the retention task goes on deleting old messages.
func (a *App) inquiryWork(w *worker.Worker, eng *templates.Engine) error {
	c := a.Config
	if c.Inquiries.Retention > 0 {
		w.Options.InquiryRetention = c.Inquiries.Retention
	}
	w.Inquiries.BookingURL = c.Practice.BookingURL
	if len(c.Secrets.DataKeys()) == 0 && !c.InquiriesOn() {
		return nil
	}
	s, err := a.sealer()
	if err != nil {
		return err
	}
	w.Inquiries.Opener = s
	if !c.InquiriesOn() {
		return nil
	}
	set, err := sequences.LoadDir(c.Sequences.Dir, sequences.Options{HasTemplate: eng.Has})
	if err != nil {
		return fmt.Errorf("sequences.dir:\n%w", err)
	}
	w.Inquiries.Sequences, w.Inquiries.NotifyEmail = set, c.Practice.NotifyEmail
	w.Inquiries.NotifyRefused = worker.NotifyTransport(c.SMTP.URL, c.SMTP.TLS)
	return nil
}
