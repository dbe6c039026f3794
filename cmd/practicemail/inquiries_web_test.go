package main

import (
	"context"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/practicemail/practicemail/internal/seal"
	"github.com/practicemail/practicemail/internal/store"
)

// startWith runs `practicemail run` with env and returns the web's base URL.
func (h *harness) startWith(env ...string) string {
	h.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	started, done := make(chan *App, 1), make(chan error, 1)
	m := h.main()
	m.Env, m.Started = env, func(a *App) { started <- a }
	go func() { done <- m.Execute(ctx, []string{"run", "--config", h.config}) }()
	select {
	case h.app = <-started:
	case err := <-done:
		cancel()
		h.t.Fatalf("run exited at start: %v\nlogs:\n%s", err, h.logs.String())
	case <-time.After(30 * time.Second):
		cancel()
		h.t.Fatalf("run did not start\nlogs:\n%s", h.logs.String())
	}
	h.t.Cleanup(func() { cancel(); <-done })
	m2 := httpLine.FindStringSubmatch(h.logs.String())
	if m2 == nil {
		h.t.Fatalf("no http line in:\n%s", h.logs.String())
	}
	return m2[1]
}

func post(t *testing.T, url, body string, header ...string) int {
	t.Helper()
	req, _ := http.NewRequest("POST", url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

// `run` with practice.notify_email and secrets.data_key serves the inquiry
// form and takes inquiries sealed with the data key; the Cal.com route
// exists with its secret, Calendly's without a key does not.
func TestRunServesInquiries(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	key := []byte("0123456789abcdef0123456789abcdef")
	base := h.startWith("PRACTICEMAIL_PRACTICE_NOTIFY_EMAIL=therapist@stillpoint.example",
		"PRACTICEMAIL_SECRETS_DATA_KEY="+base64.StdEncoding.EncodeToString(key),
		"PRACTICEMAIL_SECRETS_CALCOM_SECRET=calcom-secret-of-the-test")
	res, err := http.Get(base + "/inquiries")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("GET /inquiries = %d", res.StatusCode)
	}
	body := `{"name":"Kit","email":"kit@example.com","message":"I want to kill myself.","consent":true}`
	if code := post(t, base+"/inquiries", body); code != 202 {
		t.Fatalf("POST /inquiries = %d", code)
	}
	l, err := h.db.ListInquiries(t.Context(), 0)
	if err != nil || len(l) != 1 || !l[0].Urgent {
		t.Fatalf("inquiries = %+v, %v", l, err)
	}
	in, err := h.db.Inquiry(t.Context(), l[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := seal.New(key)
	if msg, err := s.Open(in.Message, store.InquiryAD(in.ID, store.FieldMessage)); err != nil || string(msg) != "I want to kill myself." {
		t.Errorf("the message does not open with secrets.data_key: %q %v", msg, err)
	}
	if code := post(t, base+"/webhooks/calcom", `{}`, "X-Cal-Signature-256", "no-secret-provided"); code != 401 {
		t.Errorf("Cal.com with no-secret-provided = %d, want 401", code)
	}
	if code := post(t, base+"/webhooks/calendly", `{}`); code != 404 {
		t.Errorf("Calendly without a key = %d, want 404", code)
	}
}

// Without practice.notify_email the inquiry routes do not exist.
func TestRunWithoutNotifyEmailHasNoInquiries(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	base := h.startWith()
	res, err := http.Get(base + "/inquiries")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 404 {
		t.Errorf("GET /inquiries = %d, want 404", res.StatusCode)
	}
}
