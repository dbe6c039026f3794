// Package bounce reads the reports mail servers send back about mail that
// could not be delivered — RFC 3464 delivery status notifications
// (multipart/report; report-type=delivery-status) — and the complaints of
// RFC 5965 feedback reports (ARF, report-type=feedback-report), into one
// Report per recipient. It is pure: it reads bytes and decides, and imports
// no other package of ours; the caller records what it says.
package bounce

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/mail"
	"strings"
)

// Report types.
const (
	Hard      = "hard"      // the address does not work: a failure with a 5.x.x status
	Soft      = "soft"      // it may pass: a delay, or a 4.x.x status
	Complaint = "complaint" // the person marked the mail as spam
)

// Report is what one report says of one recipient.
type Report struct {
	Email  string // the address the mail was sent to, lower-cased
	Type   string // Hard, Soft or Complaint
	Status string // the enhanced status code ("5.1.1"), if given
	Reason string // the diagnostic (Diagnostic-Code without its type), or the feedback type
	// MessageID is the returned original's Message-ID, angle brackets
	// included, when the report carries the original or its headers.
	MessageID string
	// Headers are the returned original's X- headers, by canonical name.
	Headers map[string]string
}

// ErrNotReport is returned for a message that is not a delivery status or
// feedback report: an ordinary email, an auto-reply.
var ErrNotReport = errors.New("not a delivery status or feedback report")

// maxReport caps how much of a message Parse reads: reports are small, and
// one that returns a whole large original needs only its headers.
const maxReport = 10 << 20

// Parse reads a report. A delivery status report gives a Report for each
// recipient whose Action is failed or delayed (delivered, relayed and
// expanded say nothing against the address); a feedback report gives one
// Complaint. A report may give none. A message that is not a report is
// ErrNotReport; one that says it is but cannot be read is another error.
func Parse(r io.Reader) ([]Report, error) {
	msg, err := mail.ReadMessage(io.LimitReader(r, maxReport))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotReport, err)
	}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/report" {
		return nil, ErrNotReport
	}
	kind := strings.ToLower(params["report-type"])
	if kind != "delivery-status" && kind != "feedback-report" {
		return nil, fmt.Errorf("%w: report-type %q", ErrNotReport, params["report-type"])
	}
	if params["boundary"] == "" {
		return nil, errors.New("multipart/report without a boundary")
	}
	parts, err := readParts(msg.Body, params["boundary"])
	if err != nil {
		return nil, err
	}
	if kind == "feedback-report" {
		return complaint(parts)
	}
	return deliveryStatus(parts)
}
