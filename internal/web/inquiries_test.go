package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/practicemail/practicemail/internal/ratelimit"
	"github.com/practicemail/practicemail/internal/seal"
	"github.com/practicemail/practicemail/internal/store"
	"github.com/practicemail/practicemail/internal/store/storetest"
)

const (
	dataKey    = "data-key-of-the-practice-32bytes"
	bookingURL = "https://stillpoint.example/book"
)

// inquiryQueue records the inquiries the server enqueues.
type inquiryQueue struct {
	mu  sync.Mutex
	ids []int64
	err error
}

func (q *inquiryQueue) EnqueueInquiry(ctx context.Context, id int64) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.ids = append(q.ids, id)
	return q.err
}

func (q *inquiryQueue) queued() []int64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	return append([]int64(nil), q.ids...)
}

func testSealer(t testing.TB) *seal.Sealer {
	t.Helper()
	s, err := seal.New([]byte(dataKey))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// inquiryEnv is a server with the inquiry routes on; more, if not nil,
// changes it further.
func inquiryEnv(t testing.TB, dbURL string, more func(*Server)) (*env, *inquiryQueue) {
	t.Helper()
	q := &inquiryQueue{}
	e := newEnv(t, dbURL, func(s *Server) {
		s.Sealer, s.InquiryQueue = testSealer(t), q
		s.Practice.BookingURL, s.Practice.TimeZone = bookingURL, "America/Denver"
		s.WebhookKey, s.CalendlyKey, s.CalcomSecret = []byte(webhookKey), []byte(calendlyKey), []byte(calcomSecret)
		if more != nil {
			more(s)
		}
	})
	return e, q
}

// eachInquiryEngine runs fn on SQLite and PostgreSQL with the inquiry
// routes on.
func eachInquiryEngine(t *testing.T, fn func(t *testing.T, e *env, q *inquiryQueue)) {
	for _, engine := range storetest.Engines {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			e, q := inquiryEnv(t, storetest.URL(t, engine), nil)
			fn(t, e, q)
		})
	}
}

// inquiryStamp fetches the hosted inquiry form and returns its stamp, then
// moves the clock on as a person writing would.
func (e *env) inquiryStamp() string {
	e.t.Helper()
	r := e.get("/inquiries")
	m := stampRE.FindStringSubmatch(r.body)
	if r.code != 200 || m == nil {
		e.t.Fatalf("GET /inquiries = %d without a stamp:\n%.800s", r.code, r.body)
	}
	e.clock.Add(30 * time.Second)
	return m[1]
}

// opened returns inquiry id's message and preferred time, opened.
func (e *env) opened(id int64) (*store.Inquiry, string, string) {
	e.t.Helper()
	in, err := e.db.Inquiry(context.Background(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	s := testSealer(e.t)
	msg, err := s.Open(in.Message, store.InquiryAD(id, store.FieldMessage))
	if err != nil {
		e.t.Fatalf("open message: %v", err)
	}
	var pref []byte
	if in.PreferredTime != nil {
		if pref, err = s.Open(in.PreferredTime, store.InquiryAD(id, store.FieldPreferredTime)); err != nil {
			e.t.Fatalf("open preferred time: %v", err)
		}
	}
	return in, string(msg), string(pref)
}

func (e *env) inquiries() []store.InquirySummary {
	e.t.Helper()
	l, err := e.db.ListInquiries(context.Background(), 0)
	if err != nil {
		e.t.Fatal(err)
	}
	return l
}

var selectedZone = regexp.MustCompile(`<option value="([^"]+)" selected>`)

// The hosted form: served with the practice's zone chosen and crisis
// resources; a person's inquiry is answered 202 with a calm page carrying
// 988 and the booking link; the message is stored sealed with the inquiry
// id as associated data, and the inquiry, only its id, is queued.
func TestInquiryForm(t *testing.T) {
	eachInquiryEngine(t, func(t *testing.T, e *env, q *inquiryQueue) {
		page := e.get("/inquiries")
		for _, want := range []string{`name="message"`, `name="consent"`, `name="website"`, "988", `name="time_zone"`} {
			if !strings.Contains(page.body, want) {
				t.Errorf("the form lacks %q", want)
			}
		}
		if m := selectedZone.FindStringSubmatch(page.body); m == nil || m[1] != "America/Denver" {
			t.Errorf("selected zone = %v, want the practice's", m)
		}
		msg := "I have been feeling numb for months.\r\nA friend said your practice moves slowly."
		r := e.postForm("/inquiries", url.Values{"name": {"Robin Vale"}, "email": {"Robin@Example.com"},
			"phone": {"+1 (303) 555-0147"}, "message": {msg}, "preferred_time": {"weekday evenings"},
			"time_zone": {"America/Chicago"}, "consent": {"yes"}, "ts": {e.inquiryStamp()}})
		if r.code != http.StatusAccepted || !strings.Contains(r.body, "988") || !strings.Contains(r.body, bookingURL) {
			t.Fatalf("POST = %d:\n%s", r.code, r.body)
		}
		l := e.inquiries()
		if len(l) != 1 {
			t.Fatalf("inquiries = %+v", l)
		}
		in, text, pref := e.opened(l[0].ID)
		want := store.Contact{ID: in.Contact.ID, Email: "robin@example.com", Name: "Robin Vale", Phone: "+1 (303) 555-0147",
			TimeZone: "America/Chicago", Consent: true, Status: store.ContactActive}
		if diff := cmp.Diff(want, in.Contact); diff != "" {
			t.Errorf("contact (-want +got):\n%s", diff)
		}
		if text != strings.ReplaceAll(msg, "\r\n", "\n") || pref != "weekday evenings" || in.Urgent {
			t.Errorf("opened %q, %q, urgent %v", text, pref, in.Urgent)
		}
		if got := q.queued(); !cmp.Equal(got, []int64{l[0].ID}) {
			t.Errorf("queued %v, want [%d]", got, l[0].ID)
		}
		if raw := e.strings(`SELECT COUNT(*) FROM inquiries WHERE message IS NULL OR preferred_time IS NULL`); raw[0] != "0" {
			t.Errorf("%s inquiries stored without their sealed fields", raw[0])
		}
	})
}

// JSON from an allowed origin: 202 with the crisis resources and the
// booking link, CORS for that origin; crisis language marks the inquiry
// urgent; a time zone from anywhere is taken when IANA knows it.
func TestInquiryJSON(t *testing.T) {
	eachInquiryEngine(t, func(t *testing.T, e *env, q *inquiryQueue) {
		body := `{"name":"Asha","email":"asha@example.in","message":"Some nights I feel I can't go on.","time_zone":"Asia/Kolkata","consent":true}`
		r := e.do("POST", "/inquiries", jsonType, body, "Origin", "https://stillpoint.example", "Sec-Fetch-Site", "cross-site")
		if r.code != http.StatusAccepted || !strings.Contains(r.body, `"crisis_resources":"In the US, call or text 988`) ||
			!strings.Contains(r.body, `"booking_url":"`+bookingURL) {
			t.Fatalf("POST = %d %s", r.code, r.body)
		}
		if o := r.header.Get("Access-Control-Allow-Origin"); o != "https://stillpoint.example" {
			t.Errorf("Access-Control-Allow-Origin = %q", o)
		}
		calm := `{"name":"Lee","email":"lee@example.com","message":"My doctor changed my medicine and I feel sad and tired."}`
		if r := e.do("POST", "/inquiries", jsonType, calm); r.code != http.StatusAccepted {
			t.Fatalf("POST = %d %s", r.code, r.body)
		}
		urgent := map[string]bool{}
		for _, s := range e.inquiries() {
			in, _, _ := e.opened(s.ID)
			urgent[s.Email] = in.Urgent
			if s.Email == "asha@example.in" && (in.Contact.TimeZone != "Asia/Kolkata" || !in.Contact.Consent) {
				t.Errorf("contact = %+v", in.Contact)
			}
			if s.Email == "lee@example.com" && (in.Contact.TimeZone != "" || in.Contact.Consent) {
				t.Errorf("without zone and consent: %+v", in.Contact)
			}
		}
		if !cmp.Equal(urgent, map[string]bool{"asha@example.in": true, "lee@example.com": false}) {
			t.Errorf("urgent = %v", urgent)
		}
		if len(q.queued()) != 2 {
			t.Errorf("queued %v", q.queued())
		}
	})
}

// Without a Sealer (no practice.notify_email) the routes do not exist.
func TestInquiryRoutesOffWithoutSealer(t *testing.T) {
	e := newEnv(t, storetest.URL(t, "sqlite"), nil)
	for _, r := range []response{
		e.get("/inquiries"),
		e.do("POST", "/inquiries", jsonType, `{"name":"A","email":"a@example.com","message":"hello"}`),
	} {
		if r.code != http.StatusNotFound {
			t.Errorf("without a sealer: %d, want 404", r.code)
		}
	}
}

// A failed enqueue is only logged: the person is answered, the inquiry is
// kept for the reconciler.
func TestInquiryEnqueueFailureIsOnlyLogged(t *testing.T) {
	e, q := inquiryEnv(t, storetest.URL(t, "sqlite"), nil)
	q.err = errors.New("redis: connection refused")
	r := e.do("POST", "/inquiries", jsonType, `{"name":"A","email":"a@example.com","message":"hello there"}`)
	if r.code != http.StatusAccepted || len(e.inquiries()) != 1 {
		t.Fatalf("POST = %d %s; %d inquiries", r.code, r.body, len(e.inquiries()))
	}
	if !strings.Contains(e.logs.String(), "inquiry_enqueue_failed") {
		t.Errorf("log:\n%s", e.logs)
	}
}

const (
	calendlyKey  = "calendly-signing-key-0123456789"
	calcomSecret = "calcom-secret-0123456789"
)

// The per-client limit refuses a burst of inquiries with 429, Retry-After
// and, since the message was not taken, the crisis resources; the
// per-address limit refuses one address writing again and again while
// another address from elsewhere passes.
func TestInquiryRateLimits(t *testing.T) {
	rules := DefaultRules
	rules.InquiryIP = ratelimit.Rule{Name: "inquiry-ip", Limit: 3, Per: time.Minute}
	rules.InquiryEmail = ratelimit.Rule{Name: "inquiry-email", Limit: 2, Per: time.Hour}
	e, _ := inquiryEnv(t, storetest.URL(t, "sqlite"), limited(t, rules))
	var codes []int
	var last response
	for i := range 4 {
		last = e.postForm("/inquiries", url.Values{"name": {"A"}, "email": {fmt.Sprintf("p%d@example.com", i)}, "message": {"hello"}})
		codes = append(codes, last.code)
	}
	if !cmp.Equal(codes, []int{202, 202, 202, 429}) || !strings.Contains(last.body, "988") || last.header.Get("Retry-After") == "" {
		t.Fatalf("statuses %v; last:\n%s", codes, last.body)
	}
	lim := limited(t, rules)
	e2, _ := inquiryEnv(t, storetest.URL(t, "sqlite"), func(s *Server) {
		lim(s)
		s.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
	})
	codes = nil
	for i := range 3 {
		ip := fmt.Sprintf("192.0.2.%d", i+1)
		r := e2.do("POST", "/inquiries", jsonType, `{"name":"A","email":"same@example.com","message":"hi"}`, "X-Forwarded-For", ip)
		codes = append(codes, r.code)
		last = r
	}
	if !cmp.Equal(codes, []int{202, 202, 429}) || !strings.Contains(last.body, `"crisis_resources"`) {
		t.Errorf("one address from three clients: %v %s", codes, last.body)
	}
	if r := e2.do("POST", "/inquiries", jsonType, `{"name":"B","email":"other@example.com","message":"hi"}`, "X-Forwarded-For", "192.0.2.9"); r.code != 202 {
		t.Errorf("another address = %d", r.code)
	}
}
