package web

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/practicemail/practicemail/internal/config"
	"github.com/practicemail/practicemail/internal/crisis"
	"github.com/practicemail/practicemail/internal/ratelimit"
	"github.com/practicemail/practicemail/internal/store"
	"github.com/practicemail/practicemail/templates"
)

// InquiryEnqueuer queues the processing of a saved inquiry (the worker's
// EnqueueInquiry): its task carries the inquiry id and nothing else.
type InquiryEnqueuer interface {
	EnqueueInquiry(ctx context.Context, inquiryID int64) error
}

// Classifier tells whether a message reads as a crisis
// (internal/crisis.Classifier).
type Classifier interface {
	Urgent(message string) bool
}

var (
	defaultClassifierOnce sync.Once
	defaultClassifier     *crisis.Classifier
)

// classifier is the Server's Classifier, else one of the default phrases:
// an inquiry is never classified by nothing.
func (s *Server) classifier() Classifier {
	if s.Classifier != nil {
		return s.Classifier
	}
	defaultClassifierOnce.Do(func() {
		c, err := crisis.New(nil)
		if err != nil {
			panic("web: the default crisis phrases do not compile: " + err.Error())
		}
		defaultClassifier = c
	})
	return defaultClassifier
}

// inquiryRules are the inquiry limits, each defaulted on its own so that a
// Server configured before inquiries existed still has them.
func (s *Server) inquiryRules() (ip, email ratelimit.Rule) {
	r := s.rules()
	ip, email = r.InquiryIP, r.InquiryEmail
	if ip.Name == "" {
		ip = DefaultRules.InquiryIP
	}
	if email.Name == "" {
		email = DefaultRules.InquiryEmail
	}
	return ip, email
}

// inquiriesOn reports whether the inquiry routes exist: only with a Sealer
// (practice.notify_email set, secrets.data_key given), since a message
// must never be stored in the clear. Otherwise it answers 404.
func (s *Server) inquiriesOn(w http.ResponseWriter, r *http.Request) bool {
	if s.Sealer == nil {
		s.notFound(w, r)
		return false
	}
	return true
}

// inquiryPage serves the hosted inquiry form (GET /inquiries).
func (s *Server) inquiryPage(w http.ResponseWriter, r *http.Request) {
	if !s.inquiriesOn(w, r) {
		return
	}
	s.showInquiry(w, r, http.StatusOK, inquiryForm{}, nil)
}

// showInquiry renders the form with what the person typed and what is
// wrong with it.
func (s *Server) showInquiry(w http.ResponseWriter, r *http.Request, code int, f inquiryForm, errs map[string]string) {
	s.render(w, code, templates.PageInquiry, templates.Page{
		Title: "Write to the practice",
		Inquiry: templates.InquiryFields{Name: f.Name, Email: f.Email, Phone: f.Phone, Message: f.Message,
			PreferredTime: f.PreferredTime, Consent: f.Consent, News: f.News},
		Errors: errs,
		Zones:  zoneChoices(s.Practice.TimeZone, f.TimeZone),
		Stamp:  s.stamp(),
		Crisis: s.crisisResources(),
	})
}

// inquire takes an inquiry (POST /inquiries). The message goes from the
// body to the classifier and the sealer and nowhere else: never to a log
// line, an error string, Redis or a task. Whatever becomes of a valid
// inquiry, the answer is 202 with where to turn in a crisis.
func (s *Server) inquire(w http.ResponseWriter, r *http.Request) {
	if !s.inquiriesOn(w, r) {
		return
	}
	if wantsJSON(r) {
		s.cors(w, r)
	}
	// Counted as sign-ups are (see subscribe): by client, and a valid one
	// by address too, in one round trip.
	ipRule, emailRule := s.inquiryRules()
	byClient := ratelimit.Check{Rule: ipRule, Key: s.clientAddr(r).String()}
	f, err := readInquiry(r)
	if err != nil {
		if s.allowInquiry(w, r, byClient) {
			s.unreadable(w, r, bodyStatus(err))
		}
		return
	}
	if f.Website != "" || s.stampSaysBot(f.Stamp) {
		if s.allowInquiry(w, r, byClient) {
			s.logger().Info("inquiry_dropped_as_bot", "honeypot", f.Website != "", "source", f.source)
			s.received(w, r)
		}
		return
	}
	if errs := f.Validate(); errs != nil {
		if s.allowInquiry(w, r, byClient) {
			s.inquiryInvalid(w, r, f, errs)
		}
		return
	}
	if !s.allowInquiry(w, r, byClient, ratelimit.Check{Rule: emailRule, Key: s.emailKey(f.address)}) {
		return
	}
	if err := s.saveInquiry(r.Context(), f); err != nil {
		s.logger().Error("inquiry_failed", "error", redact(err, f.address))
		s.inquiryUnavailable(w, r)
		return
	}
	s.received(w, r)
}

// saveInquiry classifies, seals and stores the inquiry, then queues its
// processing. A failed enqueue is only logged: the reconciler finds the
// inquiries not yet processed.
func (s *Server) saveInquiry(ctx context.Context, f inquiryForm) error {
	saved, err := s.DB.SaveInquiry(ctx, store.NewInquiry{
		Contact: store.NewContact{Email: f.address, Name: f.Name, Phone: f.Phone, TimeZone: f.TimeZone,
			Consent: f.Consent, News: f.News},
		Message:       f.Message,
		PreferredTime: f.PreferredTime,
		Urgent:        s.classifier().Urgent(f.Message),
	}, s.Sealer)
	if err != nil {
		return err
	}
	s.logger().Info("inquiry_received", "inquiry_id", saved.InquiryID, "contact_id", saved.ContactID,
		"new_contact", saved.NewContact, "source", f.source)
	if s.InquiryQueue != nil {
		if err := s.InquiryQueue.EnqueueInquiry(ctx, saved.InquiryID); err != nil {
			s.logger().Warn("inquiry_enqueue_failed", "inquiry_id", saved.InquiryID, "error", err)
		}
	}
	return nil
}

// received answers an inquiry taken (or quietly dropped as a bot's): 202,
// JSON or a calm page with where to turn in a crisis and the booking link.
func (s *Server) received(w http.ResponseWriter, r *http.Request) {
	if wantsJSON(r) {
		writeJSON(w, http.StatusAccepted, map[string]string{"status": "received",
			"crisis_resources": s.crisisResources(), "booking_url": s.Practice.BookingURL})
		return
	}
	s.render(w, http.StatusAccepted, templates.PageReceived, templates.Page{
		Title: "Thank you for writing",
		Paragraphs: []string{
			"Your message has reached the practice. Reaching out can take a lot; thank you for doing it.",
			"You will hear back by email. If nothing arrives, please look in your spam or promotions folder.",
		},
		Crisis: s.crisisResources(),
		Link:   s.bookingLink(),
	})
}

// inquiryInvalid answers an inquiry with fields at fault: 400, the form
// again with what to fix, or JSON naming the fields.
func (s *Server) inquiryInvalid(w http.ResponseWriter, r *http.Request, f inquiryForm, errs map[string]string) {
	if f.source == sourceJSON {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "invalid", "fields": errs})
		return
	}
	if len(f.Email) > maxAddress*2 {
		f.Email = ""
	}
	s.showInquiry(w, r, http.StatusBadRequest, f, errs)
}

// inquiryUnavailable is 503 that still says where to turn in a crisis:
// the person's message was not taken.
func (s *Server) inquiryUnavailable(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Retry-After", "60")
	if wantsJSON(r) {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "try again later",
			"crisis_resources": s.crisisResources()})
		return
	}
	s.render(w, http.StatusServiceUnavailable, templates.PageReceived, templates.Page{
		Title:      "Your message was not sent",
		Paragraphs: []string{"Something went wrong on our side and your message did not reach the practice. Please try again in a few minutes."},
		Crisis:     s.crisisResources(),
		Link:       s.bookingLink(),
	})
}

// allowInquiry is allowEach for inquiries: over the limit, the 429 still
// says where to turn in a crisis, since the message was not taken.
func (s *Server) allowInquiry(w http.ResponseWriter, r *http.Request, checks ...ratelimit.Check) bool {
	return s.allowOr(w, r, s.inquiryTooMany, checks...)
}

func (s *Server) inquiryTooMany(w http.ResponseWriter, r *http.Request, wait time.Duration) {
	secs := retryAfterSeconds(wait)
	if wantsJSON(r) {
		writeJSON(w, http.StatusTooManyRequests, map[string]any{"error": "too many requests", "retry_after": secs,
			"crisis_resources": s.crisisResources()})
		return
	}
	s.render(w, http.StatusTooManyRequests, templates.PageReceived, templates.Page{
		Title: "Your message was not sent",
		Paragraphs: []string{fmt.Sprintf("We received several messages from here in a short time. Please wait and send yours again in about %d minutes.",
			(secs+59)/60)},
		Crisis: s.crisisResources(),
		Link:   s.bookingLink(),
	})
}

func (s *Server) crisisResources() string {
	if s.CrisisResources == "" {
		return config.DefaultCrisisResources
	}
	return s.CrisisResources
}

func (s *Server) bookingLink() *templates.Link {
	if s.Practice.BookingURL == "" {
		return nil
	}
	return &templates.Link{URL: s.Practice.BookingURL, Text: "Book a free consult"}
}
