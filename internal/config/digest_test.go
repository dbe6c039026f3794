package config

import "testing"

// Digest mode is refused by validation, with the feed's key, like every
// other problem of a configuration: not by the command that happens to
// load it.
func TestDigestModeIsRefusedByValidation(t *testing.T) {
	_, err := loadYAML(t, `
practice:
  from: hello@example.org
  postal_address: 1 Main St
feeds:
  - name: news
    url: https://example.org/feed.xml
    mode: digest
    digest: "Mon 09:00"
`)
	wantProblem(t, err, "feeds[0].mode", "digest is not available yet")
}
