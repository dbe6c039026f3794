package config

import "testing"

// digestFeedYAML is a configuration with one feed of that mode and digest
// (YAML scalars, quoted as needed).
func digestFeedYAML(mode, digest string) string {
	return `
practice:
  from: hello@example.org
  postal_address: 1 Main St
feeds:
  - name: news
    url: https://example.org/feed.xml
    mode: ` + mode + `
    digest: ` + digest + `
`
}

// Digest mode is accepted (issue 10): the feed's digest time is read in the
// practice's time zone, and Monday at nine is the default.
func TestDigestModeIsAcceptedWithItsTime(t *testing.T) {
	for _, tc := range []struct{ mode, digest, want string }{
		{"digest", `"Tue 18:30"`, "Tue 18:30"},
		{"digest", `""`, DefaultDigest},
		{"each", `"Tue 18:30"`, ""}, // mode each sends each post, whatever digest says
	} {
		c, err := loadYAML(t, digestFeedYAML(tc.mode, tc.digest))
		if err != nil {
			t.Fatalf("mode %s digest %s: %v", tc.mode, tc.digest, err)
		}
		if got := c.Feeds[0].DigestAt(); got != tc.want {
			t.Errorf("mode %s digest %s: DigestAt() = %q, want %q", tc.mode, tc.digest, got, tc.want)
		}
	}
}

// A digest time that is not "Mon 09:00"-shaped is refused with the feed's
// key, like every other problem of a configuration.
func TestABadDigestTimeIsRefused(t *testing.T) {
	for _, bad := range []string{"Monday 09:00", "Mon 9:00", "Mon 24:00", "Mon 09:60", "09:00"} {
		_, err := loadYAML(t, digestFeedYAML("digest", `"`+bad+`"`))
		wantProblem(t, err, "feeds[0].digest", `must look like "Mon 09:00"`)
	}
}
