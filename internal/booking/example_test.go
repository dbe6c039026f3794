package booking_test

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/practicemail/practicemail/internal/booking"
)

// status is how a handler maps the package's errors to an HTTP status.
func status(err error) int {
	switch {
	case err == nil:
		return http.StatusAccepted
	case errors.Is(err, booking.ErrNotConfigured):
		return http.StatusNotFound
	case errors.Is(err, booking.ErrSignature), errors.Is(err, booking.ErrStale):
		return http.StatusUnauthorized
	default: // booking.ErrMalformed
		return http.StatusBadRequest
	}
}

// A handler reads the capped body, opens it with the route's key and the
// header, answers by the error, and records the Event under its Key.
func ExampleOpenCalcom() {
	secret := []byte("the secret set on the Cal.com webhook")
	body := []byte(`{"triggerEvent":"BOOKING_CREATED","createdAt":"2026-11-16T17:51:19.538Z",` +
		`"payload":{"uid":"bFJeNb2uX8ANpT3JL5EfXw","attendees":[{"email":"Ann@Example.test"}]}}`)

	_, err := booking.OpenCalcom(body, "no-secret-provided", secret)
	fmt.Println(status(err))
	_, err = booking.OpenCalcom(body, "", nil)
	fmt.Println(status(err))

	// Cal.com's signature: hex HMAC-SHA256 of the raw body.
	const sig = "0696d222bb1d14149d29ac2609cd3ba3c0835c3fcba0f9ffd0bc2819b603fe30"
	ev, err := booking.OpenCalcom(body, sig, secret)
	fmt.Println(status(err), ev.Kind, ev.Emails, ev.Key[:len("calcom:")+8]+"…")
	// Output:
	// 401
	// 404
	// 202 booked [ann@example.test] calcom:8abef5ab…
}
