package feeds

import (
	"context"
	"fmt"
)

// Check fetches and parses the feed at feedURL as a first poll would,
// without validators, and says what it found ("12 items"). Its error is
// the poll's: a *FetchError, or a parse error wrapping ErrNotFeed or
// ErrMalformed.
func (f *Fetcher) Check(ctx context.Context, feedURL string) (string, error) {
	res, err := f.Fetch(ctx, feedURL, Validators{})
	if err != nil {
		return "", err
	}
	feed, err := Parse(res.Body, res.URL)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%d items", len(feed.Items)), nil
}
