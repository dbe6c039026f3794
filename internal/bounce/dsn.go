package bounce

import (
	"errors"
	"net/textproto"
	"regexp"
	"strings"
)

// deliveryStatus reads an RFC 3464 report: the message/delivery-status
// part's per-recipient blocks (the first block is per-message).
func deliveryStatus(parts []part) ([]Report, error) {
	var status *part
	for i := range parts {
		if parts[i].mediaType == "message/delivery-status" || parts[i].mediaType == "message/global-delivery-status" {
			status = &parts[i]
			break
		}
	}
	if status == nil {
		return nil, errors.New("delivery status report without a message/delivery-status part")
	}
	blocks, err := fieldBlocks(status.body)
	if err != nil {
		return nil, err
	}
	var out []Report
	sentID := "" // Google names the original in the per-message block
	for _, b := range blocks {
		if b.Get("Final-Recipient") == "" && b.Get("Original-Recipient") == "" {
			sentID = strings.TrimSpace(b.Get("X-Original-Message-ID"))
			continue // the per-message block
		}
		if r, ok := recipient(b); ok {
			out = append(out, r)
		}
	}
	annotate(out, original(parts))
	for i := range out {
		if out[i].MessageID == "" {
			out[i].MessageID = sentID
		}
	}
	return out, nil
}

// statusCode finds an enhanced status code (RFC 3463) in text.
var statusCode = regexp.MustCompile(`\b([245])\.(\d{1,3})\.(\d{1,3})\b`)

// recipient reads one per-recipient block. The Original-Recipient is the
// address the mail was sent to; the Final-Recipient may be where a
// forwarder sent it on.
func recipient(b textproto.MIMEHeader) (Report, bool) {
	email := address(b.Get("Original-Recipient"))
	if email == "" {
		email = address(b.Get("Final-Recipient"))
	}
	if email == "" {
		return Report{}, false
	}
	r := Report{Email: email, Reason: diagnostic(b.Get("Diagnostic-Code"))}
	if m := statusCode.FindString(b.Get("Status")); m != "" {
		r.Status = m
	} else if m := statusCode.FindString(r.Reason); m != "" {
		r.Status = m
	}
	switch action := strings.ToLower(strings.TrimSpace(b.Get("Action"))); {
	case action == "delayed", strings.HasPrefix(r.Status, "4."):
		r.Type = Soft
	case action == "failed":
		r.Type = Hard
	default: // delivered, relayed, expanded: nothing against the address
		return Report{}, false
	}
	return r, true
}

// diagnostic is a Diagnostic-Code without its type ("smtp; 550 …" → "550 …"),
// its folded lines joined.
func diagnostic(s string) string {
	if typ, v, ok := strings.Cut(s, ";"); ok && !strings.ContainsAny(typ, " \t") {
		s = v
	}
	return strings.Join(strings.Fields(s), " ")
}
