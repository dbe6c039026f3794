package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/practicemail/practicemail/internal/store"
)

// The enrollments the bench writes are ones practicemail reads: every
// step 2 open and due at the one instant, the later steps open and due
// days after it, the acknowledgements done, and each step ready to send
// to its person.
func TestSeedDueStepsFitsTheSchema(t *testing.T) {
	path := migrated(t)
	ctx := context.Background()
	due := time.Now().Add(time.Minute).Truncate(time.Second).UTC()
	ids, err := seedDueSteps(ctx, path, 20, due)
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(ctx, "sqlite:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	open, err := db.OpenSteps(ctx, due)
	if err != nil {
		t.Fatal(err)
	}
	if len(open) != 20 || len(ids) != 20 {
		t.Fatalf("%d steps open by the instant, %d seeded; want 20", len(open), len(ids))
	}
	for i, s := range open {
		if s.Step != 1 || !s.Due.Equal(due) || s.ID != ids[i] {
			t.Errorf("open step %d = %+v, want step 1 (id %d) due %s", i, s, ids[i], due)
		}
	}
	later, err := db.OpenSteps(ctx, due.AddDate(0, 1, 0))
	if err != nil {
		t.Fatal(err)
	}
	if len(later) != 80 || !later[20].Due.After(due.AddDate(0, 0, 1)) {
		t.Errorf("%d steps open within a month (the 21st due %s); want 80, the later ones days away", len(later), later[min(20, len(later)-1)].Due)
	}
	m, err := db.StepToSend(ctx, ids[3])
	if err != nil {
		t.Fatal(err)
	}
	if m.Contact.Email != inquirerEmail("", 3) || m.Step.Template == "" || m.Done {
		t.Errorf("step to send = %+v", m)
	}
	if el, err := db.ContactEligibleForStep(ctx, m.EnrollmentID, 1); err != nil || !el.OK {
		t.Errorf("eligible = %+v, %v", el, err)
	}
}

// The child's configuration with the inquiry settings is one practicemail
// accepts, with the inquiry routes on and the section's send rate.
func TestConfigWithInquiryEnvLoads(t *testing.T) {
	q := inquiryOptions{rate: 250}
	cfg := childConfig(t, options{inq: q}, inquiryEnv(q))
	if !cfg.InquiriesOn() || string(cfg.Secrets.DataKey) != string(dataKey) || cfg.SMTP.Rate.N != 250 || cfg.SMTP.Rate.Per != time.Second {
		t.Errorf("inquiries on %v, data key %q, rate %+v", cfg.InquiriesOn(), cfg.Secrets.DataKey, cfg.SMTP.Rate)
	}
	if len(cfg.HTTP.AllowedOrigins) != 1 || len(cfg.HTTP.TrustedProxies) != 1 {
		t.Errorf("http: %+v", cfg.HTTP)
	}
}

// The sink's counter is read from what was written since the last look,
// never from a record cut short.
func TestSinkTail(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sink.log")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	f.WriteString("sess=0 quit=0 mesg=1\rsess=1 quit=1 mesg=1\r")
	tail, err := openSinkTail(path)
	if err != nil {
		t.Fatal(err)
	}
	defer tail.Close()
	for _, c := range []struct {
		write string
		want  int64
	}{
		{"", 1},
		{"sess=1 quit=1 mesg=2\rsess=1 quit=1 mesg=1", 2}, // the last record is being written
		{"2\r", 12},
		{"sess=2 quit=2 mesg=13\rsess=2 quit=2 mesg=14\r", 14},
	} {
		f.WriteString(c.write)
		if got, err := tail.count(); err != nil || got != c.want {
			t.Errorf("after %q: count %d, %v; want %d", c.write, got, err, c.want)
		}
	}
}

// Per-second counts and the busiest second come from the samples of the
// counter: 100 a second for three seconds, then a burst of 150 in half a
// second.
func TestPerSecondAndBusiestSecond(t *testing.T) {
	t0 := time.Unix(1000, 0)
	var ticks []tick
	n := int64(0)
	for ms := 0; ms <= 4000; ms += 10 {
		at := t0.Add(time.Duration(ms) * time.Millisecond)
		switch {
		case ms > 0 && ms <= 3000:
			n++
		case ms > 3000 && ms <= 3500:
			n += 3
		}
		ticks = append(ticks, tick{at: at, n: n})
	}
	if got, want := perSecond(ticks, t0), []int64{100, 100, 100, 150}; !slices.Equal(got, want) {
		t.Errorf("per second = %v, want %v", got, want)
	}
	if b := busiestSecond(ticks); b != 150+50 {
		t.Errorf("busiest second = %d, want 200 (the burst and the half second before it)", b)
	}
	if got := compactSeconds([]int64{100, 100, 100, 150}); got != "100×3 150" {
		t.Errorf("compact = %q", got)
	}
}

// The inquiry load posts what POST /inquiries takes: JSON from the
// practice's site, a new address and a client address of its own each
// time, with consent and a time zone.
func TestInquiryLoad(t *testing.T) {
	var mu sync.Mutex
	emails, clients, n := map[string]bool{}, map[string]bool{}, 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Name, Email, Message string
			TimeZone             string `json:"time_zone"`
			Consent              bool
		}
		err := json.NewDecoder(r.Body).Decode(&body)
		mu.Lock()
		n++
		emails[body.Email], clients[r.Header.Get("X-Forwarded-For")] = true, true
		mu.Unlock()
		if err != nil || r.URL.Path != "/inquiries" || r.Header.Get("Origin") != signupOrigin || !body.Consent ||
			body.TimeZone != practiceTimeZone || body.Message == "" || body.Name == "" {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		w.WriteHeader(http.StatusAccepted)
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	r := newInquiries(strings.TrimPrefix(srv.URL, "http://"), "t-", 4).closedLoop(ctx, 4)
	mu.Lock()
	defer mu.Unlock()
	if r.codes[http.StatusAccepted] != n || n == 0 {
		t.Fatalf("answers %v of %d requests; want every one 202", r.codes, n)
	}
	if len(emails) != n || len(clients) != n {
		t.Errorf("%d requests used %d addresses and %d client addresses; want a new one each time", n, len(emails), len(clients))
	}
}
