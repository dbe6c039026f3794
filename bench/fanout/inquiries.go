package main

import (
	"context"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"os"
	"time"
)

// inquiryOptions is the command line of the inquiry section: N
// enrollments whose next step falls due at one instant, sent within
// smtp.rate; then POST /inquiries on loopback.
type inquiryOptions struct {
	due       int           // enrollments whose step falls due at once; 0: no inquiry section
	rate      int           // smtp.rate of the section's runs, messages a second
	lead      time.Duration // from the start of seeding to the instant the steps fall due
	postRate  float64       // POST /inquiries a second, open loop
	postConns int           // clients of the closed loop
	postFor   time.Duration // how long each stretch of POSTs lasts
}

func (q *inquiryOptions) register(fs *flag.FlagSet) {
	fs.IntVar(&q.due, "inquiries", 0, "enrollments whose next step falls due in the same instant, then POST /inquiries (0: not)")
	fs.IntVar(&q.rate, "inquiry-rate", 200, "smtp.rate of the inquiry runs, messages a second")
	fs.DurationVar(&q.lead, "inquiry-lead", 0, "from the start of seeding to when the steps fall due (0: 20s + 2ms an enrollment)")
	fs.Float64Var(&q.postRate, "inquiry-post-rate", 20, "POST /inquiries a second, open loop")
	fs.IntVar(&q.postConns, "inquiry-conns", 8, "clients sending inquiries back to back, for the most per second")
	fs.DurationVar(&q.postFor, "inquiry-for", 10*time.Second, "how long each stretch of inquiries lasts")
}

func (q *inquiryOptions) check() error {
	if q.due < 0 || q.rate < 1 || q.postRate <= 0 || q.postConns < 1 || q.postFor < time.Second || q.lead < 0 {
		return errors.New("-inquiries: want N >= 0, -inquiry-rate >= 1, a positive -inquiry-post-rate, -inquiry-conns >= 1, -inquiry-for >= 1s")
	}
	if q.lead == 0 {
		q.lead = 20*time.Second + time.Duration(q.due)*2*time.Millisecond
	}
	return nil
}

// Where the bench's practice is told of inquiries, and its booking page.
const (
	inquiryNotify  = "intake@stillpoint.example"
	inquiryBooking = "https://stillpoint.example/book"
)

// inquiryEnv turns the child's inquiry routes and sequences on, with the
// section's send rate, and lets the bench's JSON posts in as the sign-ups'
// are (signupKeys).
func inquiryEnv(q inquiryOptions) []string {
	return []string{
		"PRACTICEMAIL_PRACTICE_NOTIFY_EMAIL=" + inquiryNotify,
		"PRACTICEMAIL_PRACTICE_BOOKING_URL=" + inquiryBooking,
		"PRACTICEMAIL_SECRETS_DATA_KEY=" + base64.StdEncoding.EncodeToString(dataKey),
		fmt.Sprintf("PRACTICEMAIL_SMTP_RATE=%d/s", q.rate),
		"PRACTICEMAIL_HTTP_ALLOWED_ORIGINS=" + signupOrigin,
		"PRACTICEMAIL_HTTP_TRUSTED_PROXIES=127.0.0.1/32",
	}
}

// inquiryResult is the inquiry section's measurements.
type inquiryResult struct {
	due   dueResult
	posts postResult
}

// measureInquiries runs the inquiry section, or returns nil when
// -inquiries is 0.
func measureInquiries(ctx context.Context, o options) (*inquiryResult, error) {
	if o.inq.due == 0 {
		return nil, nil
	}
	var r inquiryResult
	var err error
	fmt.Fprintf(os.Stderr, "== inquiries: %d enrollments whose next step falls due at once, smtp.rate %d/s\n", o.inq.due, o.inq.rate)
	if r.due, err = measureDue(ctx, o); err != nil {
		return nil, fmt.Errorf("due steps: %w", err)
	}
	fmt.Fprintf(os.Stderr, "   sent in %.1f s, busiest second %d, peak RSS %.1f MB\n",
		r.due.span().Seconds(), r.due.busiestCalendar(), mb(r.due.pm.maxRSS))
	fmt.Fprintf(os.Stderr, "== inquiries: POST /inquiries\n")
	if r.posts, err = measurePosts(ctx, o); err != nil {
		return nil, fmt.Errorf("POST /inquiries: %w", err)
	}
	fmt.Fprintf(os.Stderr, "   closed loop %.0f/s p99 %s; open loop %.0f/s p99 %s\n",
		r.posts.closed.rate(), ms(r.posts.closed.pct(99)), r.posts.open.rate(), ms(r.posts.open.pct(99)))
	return &r, nil
}

// postResult is POST /inquiries as fast as postConns clients can send
// them, then at postRate a second.
type postResult struct {
	aloneResult
	pm pmResult
}

// measurePosts runs practicemail on a fresh database and posts inquiries
// to it.
func measurePosts(ctx context.Context, o options) (postResult, error) {
	var r postResult
	pm, err := runSession(ctx, o, 0, o.syncs[0], func(s *session) driver {
		s.env, s.name = inquiryEnv(o.inq), "inquiries"
		return func(ctx context.Context, _ *pmResult, _ int, exited <-chan struct{}) error {
			var err error
			r.aloneResult, err = s.postAlone(ctx, exited, aloneLoad{poster: newInquiries, conns: o.inq.postConns,
				perSecond: o.inq.postRate, stretch: o.inq.postFor, done: (*ledger).inquiriesDone,
				what: "the inquiries' acknowledgements and notifications sent"})
			return err
		}
	})
	r.pm = pm
	return r, err
}

// newInquiries posts inquiries, each from a new address starting with
// prefix: consent given, a message of about 300 bytes.
func newInquiries(addr, prefix string, conns int) *poster {
	return newPoster(addr, "/inquiries", conns, func(i int64) string {
		return fmt.Sprintf(`{"name": "Person %d", "email": %q, "message": %q, "time_zone": %q, "consent": true}`,
			i, inquirerEmail(prefix, i), inquiryMessage, practiceTimeZone)
	})
}
