package config

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// key is the base64 of 32 bytes of b.
func key(b byte) string { return base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{b}, 32)) }

func TestInquiriesDefaults(t *testing.T) {
	c := Default()
	if c.Inquiries.Retention != 4320*time.Hour || !strings.Contains(c.Inquiries.CrisisResources, "988") ||
		c.Inquiries.CrisisWords != nil || c.Sequences.Dir != "templates/sequences" || c.InquiriesOn() {
		t.Errorf("defaults: %+v, sequences.dir %q, inquiries on %v", c.Inquiries, c.Sequences.Dir, c.InquiriesOn())
	}
}

// The inquiries section and the rotated keys are read from the file, and
// lists from one variable with commas.
func TestInquiriesValues(t *testing.T) {
	got, err := loadYAML(t, fmt.Sprintf(`
practice:
  notify_email: intake@example.org
inquiries:
  retention: 720h
  crisis_words: ["want to disappear", end it all]
  crisis_resources: "In the UK, call 111."
secrets:
  data_key: %s
  data_key_previous:
    - %s
    - %s
  calendly_key: cal-key
  calcom_secret: com-secret
`, key(1), key(2), key(3)))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	want := Inquiries{Retention: 720 * time.Hour, CrisisWords: []string{"want to disappear", "end it all"}, CrisisResources: "In the UK, call 111."}
	if diff := cmp.Diff(want, got.Inquiries); diff != "" {
		t.Errorf("inquiries (-want +got):\n%s", diff)
	}
	keys := got.Secrets.DataKeys()
	if len(keys) != 3 || keys[0][0] != 1 || keys[1][0] != 2 || keys[2][0] != 3 || !got.InquiriesOn() {
		t.Errorf("DataKeys = %v, inquiries on %v; want current, then the two previous", keys, got.InquiriesOn())
	}
	if got.Secrets.CalendlyKey != "cal-key" || got.Secrets.CalcomSecret != "com-secret" {
		t.Errorf("booking secrets %q, %q", got.Secrets.CalendlyKey, got.Secrets.CalcomSecret)
	}
	env, err := Load("", []string{"PRACTICEMAIL_INQUIRIES_CRISIS_WORDS=end it all, gone for good",
		"PRACTICEMAIL_SECRETS_DATA_KEY=" + key(1), "PRACTICEMAIL_SECRETS_DATA_KEY_PREVIOUS=" + key(2) + "," + key(3)})
	if err != nil {
		t.Fatalf("Load from the environment: %v", err)
	}
	if diff := cmp.Diff([]string{"end it all", "gone for good"}, env.Inquiries.CrisisWords); diff != "" || len(env.Secrets.DataKeyPrevious) != 2 {
		t.Errorf("crisis words from a variable (-want +got):\n%s\nprevious keys: %d", diff, len(env.Secrets.DataKeyPrevious))
	}
	file := writeFile(t, "previous", key(2)+"\n"+key(3)+"\n")
	fromFile, err := Load("", []string{"PRACTICEMAIL_SECRETS_DATA_KEY=" + key(1), "PRACTICEMAIL_SECRETS_DATA_KEY_PREVIOUS_FILE=" + file})
	if err != nil || len(fromFile.Secrets.DataKeyPrevious) != 2 || fromFile.Secrets.DataKeyPrevious[1][0] != 3 {
		t.Errorf("previous keys from a file, one a line: %v", err)
	}
}

// With practice.notify_email set, the inquiry routes are on and a data key
// is required: one line saying how to make one, at the line of secrets.
func TestNotifyEmailNeedsDataKey(t *testing.T) {
	_, path, err := loadYAMLAt(t, "practice:\n  notify_email: intake@example.org\nsecrets:\n  webhook_key: x\n")
	p := problemsOf(t, err)
	want := fmt.Sprintf("secrets.data_key: required when practice.notify_email is set, to encrypt inquiries; make one with: openssl rand -base64 32 (%s:3)", path)
	if diff := cmp.Diff(Problems{want}, p); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
	if _, err := loadYAML(t, "practice:\n  notify_email: intake@example.org\nsecrets:\n  data_key: "+key(1)+"\n"); err != nil {
		t.Errorf("with a data key: %v", err)
	}
	if _, err := Load("", []string{"PRACTICEMAIL_PRACTICE_NOTIFY_EMAIL=a@example.org"}); err == nil ||
		!strings.Contains(err.Error(), "openssl rand -base64 32") || strings.Count(err.Error(), "\n") != 0 {
		t.Errorf("from the environment: %v; want one line naming openssl", err)
	}
}

// Every problem of the new keys is listed at once, each with its file and
// line, and no key is ever quoted back.
func TestInquiriesProblems(t *testing.T) {
	short := base64.StdEncoding.EncodeToString([]byte("sixteen-byte-key"))
	_, path, err := loadYAMLAt(t, fmt.Sprintf(`inquiries:
  retention: 30m
  crisis_words:
    - fine phrase
    - "?!"
  crisis_resources: "  "
secrets:
  data_key: %s
  data_key_previous:
    - %s
    - "not base64!"
    - %s
`, key(1), short, key(1)))
	p := problemsOf(t, err)
	want := Problems{
		fmt.Sprintf("secrets.data_key_previous[1]: must be standard base64 (for example from: openssl rand -base64 32) (%s:11)", path),
		fmt.Sprintf("inquiries.retention: must be at least 1h (got 30m0s) (%s:2)", path),
		fmt.Sprintf(`inquiries.crisis_words[1]: has no letters or digits (got "?!") (%s:5)`, path),
		fmt.Sprintf("inquiries.crisis_resources: required: every inquiry page and email carries it (%s:6)", path),
		fmt.Sprintf("secrets.data_key_previous[0]: must be the base64 of exactly 32 bytes (got 16 bytes) (%s:10)", path),
		fmt.Sprintf("secrets.data_key_previous[2]: is secrets.data_key itself; list only the keys it replaced (%s:12)", path),
	}
	if diff := cmp.Diff(want, p); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
	for _, secret := range []string{key(1), short, "not base64"} {
		if strings.Contains(err.Error(), secret) {
			t.Errorf("a problem quotes the key %q", secret)
		}
	}
	if _, err := loadYAML(t, "secrets:\n  data_key_previous: ["+key(2)+"]\n"); err == nil ||
		!strings.Contains(err.Error(), "secrets.data_key_previous: needs secrets.data_key") {
		t.Errorf("previous keys without a current one: %v", err)
	}
}
