package web

import (
	"context"
	"errors"
	"net/http"

	"github.com/practicemail/practicemail/internal/booking"
	"github.com/practicemail/practicemail/internal/store"
)

// opener verifies and reads one booking webhook's raw body.
type opener func(r *http.Request, body []byte) (booking.Event, error)

// bookingWebhook is POST /webhooks/booking, our own format:
// X-Signature: sha256=<hex HMAC-SHA256 of the body with secrets.webhook_key>.
func (s *Server) bookingWebhook(w http.ResponseWriter, r *http.Request) {
	s.bookingEvent(w, r, func(r *http.Request, body []byte) (booking.Event, error) {
		return booking.OpenGeneric(body, r.Header.Get(booking.HeaderGeneric), s.WebhookKey)
	})
}

// calendlyWebhook is POST /webhooks/calendly, signed with
// secrets.calendly_key and refused when older than five minutes.
func (s *Server) calendlyWebhook(w http.ResponseWriter, r *http.Request) {
	s.bookingEvent(w, r, func(r *http.Request, body []byte) (booking.Event, error) {
		return booking.OpenCalendly(body, r.Header.Get(booking.HeaderCalendly), s.CalendlyKey, s.now())
	})
}

// calcomWebhook is POST /webhooks/calcom, signed with secrets.calcom_secret.
func (s *Server) calcomWebhook(w http.ResponseWriter, r *http.Request) {
	s.bookingEvent(w, r, func(r *http.Request, body []byte) (booking.Event, error) {
		return booking.OpenCalcom(body, r.Header.Get(booking.HeaderCalcom), s.CalcomSecret)
	})
}

// bookingEvent reads the body, opens it and acts: 404 when the source has
// no key configured, 401 for a missing, wrong or stale signature, 400 for
// a genuine body that cannot be read, 202 otherwise, unknown people
// included (a sender learns nothing about who is a contact). A Booked
// event ends the people's sequences; a cancellation or a reschedule
// changes nothing, so a cancellation never restarts a sequence. A delivery
// seen before changes nothing; one acted on is then recorded (act first:
// a crash between the two repeats a harmless stop rather than losing it).
// No address is ever logged.
func (s *Server) bookingEvent(w http.ResponseWriter, r *http.Request, open opener) {
	body, ok := readWebhookBody(w, r)
	if !ok {
		return
	}
	ev, err := open(r, body)
	if code := openStatus(err); code != 0 {
		writeJSON(w, code, map[string]string{"error": http.StatusText(code)})
		return
	}
	stopped, fresh, err := s.actOnBooking(r.Context(), ev)
	if err != nil {
		s.logger().Error("booking_webhook_failed", "source", ev.Source, "kind", ev.Kind.String(), "error", redactAll(err, ev.Emails))
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "could not record the event"})
		return
	}
	s.logger().Info("booking_webhook", "source", ev.Source, "kind", ev.Kind.String(), "new", fresh, "stopped", stopped)
	writeJSON(w, http.StatusAccepted, map[string]any{"status": "accepted"})
}

// openStatus maps an Open error to its status, 0 for none.
func openStatus(err error) int {
	switch {
	case err == nil:
		return 0
	case errors.Is(err, booking.ErrNotConfigured):
		return http.StatusNotFound
	case errors.Is(err, booking.ErrSignature), errors.Is(err, booking.ErrStale):
		return http.StatusUnauthorized
	}
	return http.StatusBadRequest
}

// actOnBooking stops the enrollments of a Booked event's people and
// records its key, unless the key was seen before. It returns how many
// enrollments it stopped and whether the event was new.
func (s *Server) actOnBooking(ctx context.Context, ev booking.Event) (stopped int, fresh bool, err error) {
	if ev.Key == "" { // Ignored: nothing to do, nothing to record
		return 0, false, nil
	}
	seen, err := s.DB.WebhookEventSeen(ctx, ev.Source, ev.Key)
	if err != nil || seen {
		return 0, false, err
	}
	if ev.Kind == booking.Booked {
		for _, email := range ev.Emails {
			n, err := s.DB.StopEnrollments(ctx, email, store.ContactBooked)
			if err != nil {
				return stopped, false, err
			}
			stopped += n
		}
	}
	record := s.DB.RecordWebhookEvent
	if ev.Kind == booking.Booked {
		record = s.DB.RecordBooking // counted by campaigns' --stop-after-bookings
	}
	fresh, err = record(ctx, ev.Source, ev.Key)
	return stopped, fresh, err
}

// redactAll is err's text without any of the addresses.
func redactAll(err error, addresses []string) string {
	msg := err.Error()
	for _, a := range addresses {
		msg = redact(errors.New(msg), a)
	}
	return msg
}
