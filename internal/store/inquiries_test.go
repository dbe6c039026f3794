package store_test

import (
	"crypto/rand"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/practicemail/practicemail/internal/seal"
	"github.com/practicemail/practicemail/internal/store"
	"github.com/practicemail/practicemail/internal/store/storetest"
)

// phrase is the distinctive text of the private-message tests: it must
// never be found in the database.
const phrase = "marmalade-heron-cartography-7319"

func newSealer(t *testing.T) *seal.Sealer {
	t.Helper()
	k := make([]byte, seal.KeySize)
	rand.Read(k)
	s, err := seal.New(k)
	must(t, err)
	return s
}

func inquiry(email string) store.NewInquiry {
	return store.NewInquiry{
		Contact:       store.NewContact{Email: email, Name: "Rae Okafor", Phone: "+1 303 555 0100", TimeZone: "America/Denver", Consent: true},
		Message:       "I have been feeling numb for a while. " + phrase,
		PreferredTime: "evenings after six " + phrase,
	}
}

func saveInquiry(t *testing.T, db *store.DB, s store.Sealer, in store.NewInquiry) store.SavedInquiry {
	t.Helper()
	got, err := db.SaveInquiry(ctx, in, s)
	must(t, err)
	return got
}

func TestSaveInquiry(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := newSealer(t)
		in := inquiry("Rae@Example.org")
		in.Urgent = true
		first := saveInquiry(t, db, s, in)
		if !first.NewContact || first.Enrolled || first.ContactStatus != store.ContactActive {
			t.Errorf("first inquiry = %+v, want a new active contact, not enrolled", first)
		}
		q, err := db.Inquiry(ctx, first.InquiryID)
		must(t, err)
		msg, err := s.Open(q.Message, store.InquiryAD(q.ID, store.FieldMessage))
		must(t, err)
		pref, err := s.Open(q.PreferredTime, store.InquiryAD(q.ID, store.FieldPreferredTime))
		must(t, err)
		if string(msg) != in.Message || string(pref) != in.PreferredTime {
			t.Errorf("opened %q / %q, want the message and the preferred time", msg, pref)
		}
		if _, err := s.Open(q.Message, store.InquiryAD(q.ID, store.FieldPreferredTime)); !errors.Is(err, seal.ErrOpen) {
			t.Errorf("the message opened as the preferred time: %v", err)
		}
		wantContact := store.Contact{ID: first.ContactID, Email: "rae@example.org", Name: "Rae Okafor",
			Phone: "+1 303 555 0100", TimeZone: "America/Denver", Consent: true, Status: store.ContactActive}
		if diff := cmp.Diff(wantContact, q.Contact); diff != "" || !q.Urgent {
			t.Errorf("contact (-want +got):\n%s urgent=%v", diff, q.Urgent)
		}

		_, created, err := db.Enroll(ctx, store.NewEnrollment{ContactID: first.ContactID, Sequence: "inquiry", Steps: testSteps})
		must(t, err)
		if !created {
			t.Fatal("first Enroll did not create an enrollment")
		}
		again := inquiry("rae@example.org")
		again.PreferredTime, again.Contact.Name = "", ""
		second := saveInquiry(t, db, s, again)
		if second.NewContact || !second.Enrolled || second.ContactID != first.ContactID || second.InquiryID == first.InquiryID {
			t.Errorf("second inquiry = %+v, want the same contact, enrolled, a new inquiry", second)
		}
		q2, err := db.Inquiry(ctx, second.InquiryID)
		must(t, err)
		if q2.PreferredTime != nil || q2.Contact.Name != "Rae Okafor" {
			t.Errorf("second inquiry: preferred time %d bytes, name %q; want none and the name kept", len(q2.PreferredTime), q2.Contact.Name)
		}
		if _, err := db.Inquiry(ctx, 9999); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Inquiry(9999) = %v, want ErrNotFound", err)
		}
		if _, err := db.SaveInquiry(ctx, inquiry("not an address"), s); !errors.Is(err, store.ErrInvalidEmail) {
			t.Errorf("SaveInquiry with a bad address = %v, want ErrInvalidEmail", err)
		}
	})
}

var testSteps = []store.SequenceStep{
	{Step: 0, After: 0, Template: "inquiry/thanks", Subject: "Thanks for reaching out"},
	{Step: 1, After: 48 * time.Hour, Template: "inquiry/what-to-expect", Subject: "What a first session looks like"},
	{Step: 2, After: 2 * time.Second, Template: "inquiry/book", Subject: "Would a free consult help?"},
}

func TestListInquiriesAndViews(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := newSealer(t)
		a := saveInquiry(t, db, s, inquiry("a@example.org"))
		b := saveInquiry(t, db, s, inquiry("b@example.org"))
		must(t, db.RecordView(ctx, a.InquiryID, "therapist"))
		must(t, db.RecordView(ctx, a.InquiryID, "therapist"))
		if err := db.RecordView(ctx, 9999, "therapist"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("RecordView of no inquiry = %v, want ErrNotFound", err)
		}
		list, err := db.ListInquiries(ctx, 0)
		must(t, err)
		var got []string
		for _, l := range list {
			got = append(got, l.Email)
		}
		if diff := cmp.Diff([]string{"b@example.org", "a@example.org"}, got); diff != "" {
			t.Errorf("list, newest first (-want +got):\n%s", diff)
		}
		if list[1].ID != a.InquiryID || list[1].Views != 2 || list[0].ID != b.InquiryID || list[0].Views != 0 {
			t.Errorf("views = %d and %d, want 2 for the one shown twice and 0", list[1].Views, list[0].Views)
		}
		one, err := db.ListInquiries(ctx, 1)
		must(t, err)
		if len(one) != 1 || one[0].ID != b.InquiryID {
			t.Errorf("ListInquiries(1) = %+v, want the newest only", one)
		}
	})
}

func TestDeleteExpiredMessages(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := newSealer(t)
		t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
		var ids []int64
		for i, day := range []int{0, 10, 20} {
			db.Now = func() time.Time { return t0.AddDate(0, 0, day) }
			ids = append(ids, saveInquiry(t, db, s, inquiry([]string{"a@example.org", "b@example.org", "c@example.org"}[i])).InquiryID)
		}
		db.Now = func() time.Time { return t0.AddDate(0, 0, 200) }
		cutoff := t0.AddDate(0, 0, 15) // day 0 and day 10 are older
		n, err := db.DeleteExpiredMessages(ctx, cutoff)
		must(t, err)
		if n != 2 {
			t.Errorf("deleted %d messages, want 2", n)
		}
		for i, want := range []bool{true, true, false} {
			q, err := db.Inquiry(ctx, ids[i])
			must(t, err)
			if gone := q.Message == nil && q.PreferredTime == nil; gone != want {
				t.Errorf("inquiry of day %d: message deleted = %v, want %v", []int{0, 10, 20}[i], gone, want)
			}
			if want && !q.MessageDeletedAt.Equal(db.Now()) {
				t.Errorf("message_deleted_at = %v, want %v", q.MessageDeletedAt, db.Now())
			}
		}
		if n, err := db.DeleteExpiredMessages(ctx, cutoff); err != nil || n != 0 {
			t.Errorf("a second retention run = %d, %v; want 0, nil", n, err)
		}
	})
}

func TestRecordWebhookEvent(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		for _, tt := range []struct {
			source, key string
			want        bool
		}{
			{store.WebhookCalendly, "https://api.calendly.com/scheduled_events/X/invitees/Y", true},
			{store.WebhookCalendly, "https://api.calendly.com/scheduled_events/X/invitees/Y", false},
			{store.WebhookCalcom, "https://api.calendly.com/scheduled_events/X/invitees/Y", true},
			{store.WebhookCalcom, "uid-1", true},
			{store.WebhookCalcom, "uid-1", false},
		} {
			got, err := db.RecordWebhookEvent(ctx, tt.source, tt.key)
			must(t, err)
			if got != tt.want {
				t.Errorf("RecordWebhookEvent(%s, %s) = %v, want %v", tt.source, tt.key, got, tt.want)
			}
		}
	})
}
