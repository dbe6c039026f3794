package bounce

import (
	"errors"
	"strings"
)

// complaint reads an ARF report (RFC 5965): the feedback-report part's
// Feedback-Type and Original-Rcpt-To, else the returned original's To.
func complaint(parts []part) ([]Report, error) {
	var fields *part
	for i := range parts {
		if parts[i].mediaType == "message/feedback-report" {
			fields = &parts[i]
			break
		}
	}
	if fields == nil {
		return nil, errors.New("feedback report without a message/feedback-report part")
	}
	blocks, err := fieldBlocks(fields.body)
	if err != nil {
		return nil, err
	}
	if len(blocks) == 0 {
		return nil, errors.New("empty message/feedback-report part")
	}
	f := blocks[0]
	orig := original(parts)
	email := address(f.Get("Original-Rcpt-To"))
	if email == "" && orig != nil {
		if list, err := orig.AddressList("To"); err == nil && len(list) == 1 {
			email = strings.ToLower(list[0].Address)
		}
	}
	if email == "" {
		return nil, nil // redacted: the report names nobody
	}
	reason := strings.ToLower(strings.TrimSpace(f.Get("Feedback-Type")))
	if reason == "" {
		reason = "abuse"
	}
	out := []Report{{Email: email, Type: Complaint, Reason: reason}}
	annotate(out, orig)
	return out, nil
}
