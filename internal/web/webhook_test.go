package web

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
	"testing"

	"github.com/practicemail/practicemail/internal/logtest"
	"github.com/practicemail/practicemail/internal/store"
	"github.com/practicemail/practicemail/internal/store/storetest"
)

const webhookKey = "webhook-key-of-the-practice-0123"

func sign(body, key string) string {
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(body))
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// The bounce webhook takes only what is signed with the webhook key, says
// what is wrong with anything else by its status, records hard bounces and
// complaints as suppressions at once, and never logs an address.
func TestBounceWebhook(t *testing.T) {
	for _, engine := range storetest.Engines {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			testBounceWebhook(t, engine)
		})
	}
}

func testBounceWebhook(t *testing.T, engine string) {
	t.Helper()
	log, logs := logtest.Logger()
	e := newEnv(t, storetest.URL(t, engine), func(s *Server) {
		s.WebhookKey = []byte(webhookKey)
		s.Log = log
	})
	for _, a := range []string{"hard@example.com", "soft@example.com", "angry@example.com"} {
		if _, err := e.db.AddSubscriber(context.Background(), store.NewSubscriber{Email: a, Confirmed: true}); err != nil {
			t.Fatal(err)
		}
	}
	hard := `{"email":"Hard@Example.com","type":"hard","reason":"550 5.1.1 user unknown"}`
	big := `{"email":"hard@example.com","type":"hard","reason":"` + strings.Repeat("x", 70<<10) + `"}`
	for _, tc := range []struct {
		name, body, sig string
		code            int
		want            string // in the answer
	}{
		{"no signature", hard, "", 401, "X-Signature"},
		{"wrong key", hard, sign(hard, "another key of 32 bytes........."), 401, ""},
		{"another body's signature", hard, sign(`{"email":"x@example.com","type":"hard"}`, webhookKey), 401, ""},
		{"sha1 named", hard, strings.Replace(sign(hard, webhookKey), "sha256=", "sha1=", 1), 401, ""},
		{"not hex", hard, "sha256=zz", 401, ""},
		{"truncated signature", hard, sign(hard, webhookKey)[:40], 401, ""},
		{"not JSON", "email=hard@example.com", sign("email=hard@example.com", webhookKey), 400, "JSON"},
		{"array for a string", `{"email":["hard@example.com"],"type":"hard"}`, "", 400, "JSON"},
		{"two objects", `{"email":"hard@example.com","type":"hard"}{}`, "", 400, "one JSON object"},
		{"unknown type", `{"email":"hard@example.com","type":"bogus"}`, "", 400, "type"},
		{"no email", `{"type":"hard"}`, "", 400, "email"},
		{"header injection", `{"email":"a@example.com\r\nBcc: b@example.com","type":"hard"}`, "", 400, "email"},
		{"too big", big, "", 413, ""},
		{"nobody", `{"email":"stranger@example.com","type":"hard"}`, "", 200, `{"matched":false,"suppressed":false}`},
		{"soft", `{"email":"soft@example.com","type":"soft","reason":"mailbox full"}`, "", 200, `{"matched":true,"suppressed":false}`},
		{"hard", hard, sign(hard, webhookKey), 200, `{"matched":true,"suppressed":true}`},
		{"complaint", `{"email":"angry@example.com","type":"complaint"}`, "", 200, `{"matched":true,"suppressed":true}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sig := tc.sig
			if sig == "" && tc.code != 401 {
				sig = sign(tc.body, webhookKey)
			}
			r := e.do(http.MethodPost, "/webhooks/bounce", "application/json", tc.body, "X-Signature", sig)
			if r.code != tc.code || !strings.Contains(r.body, tc.want) {
				t.Errorf("POST = %d %s, want %d with %q", r.code, r.body, tc.code, tc.want)
			}
		})
	}
	want := map[string]string{"hard@example.com": "bounced", "soft@example.com": "active", "angry@example.com": "complained"}
	for a, status := range want {
		s, err := e.db.SubscriberByEmail(context.Background(), a)
		if err != nil || s.Status != status {
			t.Errorf("%s: %v %v, want %s", a, s, err, status)
		}
	}
	if got := e.strings(`SELECT type || ' ' || source FROM bounces ORDER BY id`); strings.Join(got, ",") != "soft webhook,hard webhook,complaint webhook" {
		t.Errorf("bounces stored: %v", got)
	}
	if l := logs.String(); strings.Contains(l, "@example.com") || !strings.Contains(l, "bounce_webhook") {
		t.Errorf("logs name an address, or say nothing:\n%s", l)
	}
}

// Without a webhook key the route does not exist: an unsigned door would
// let anyone suppress anyone.
func TestBounceWebhookWithoutKeyIsNotFound(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		body := `{"email":"a@example.com","type":"hard"}`
		r := e.do(http.MethodPost, "/webhooks/bounce", "application/json", body, "X-Signature", sign(body, ""))
		if r.code != http.StatusNotFound {
			t.Errorf("POST without a key configured = %d %s, want 404", r.code, r.body)
		}
	})
}
