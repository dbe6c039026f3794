package main

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"time"

	"github.com/practicemail/practicemail/internal/seal"
	"github.com/practicemail/practicemail/internal/store"
	"github.com/practicemail/practicemail/sequences"
	"github.com/practicemail/practicemail/templates"
)

// dataKey is secrets.data_key of the bench's practicemail (32 bytes; its
// base64 goes into the child's environment).
var dataKey = []byte("bench-data-key-0123456789abcdef!")

// inquirer i is inquirerPrefix+i@inquirerDomain.
const (
	inquirerPrefix = "inquirer"
	inquirerDomain = "example.net"
)

func inquirerEmail(prefix string, i int64) string {
	return inquirerPrefix + prefix + strconv.FormatInt(i, 10) + "@" + inquirerDomain
}

// inquiryMessage is what every bench inquirer writes: about 300 bytes,
// sealed like any other.
const inquiryMessage = "Lately I have felt far away from everything, and a friend said your practice goes slowly. " +
	"I am not sure what I need, only that I would like to talk to someone. Evenings are easier for me. " +
	"Could you tell me how a first conversation works?"

// seedDueSteps writes n inquiries through the store, as the web and the
// worker's inquiry task would: each sealed, its contact (America/Denver,
// consent given) enrolled in the built-in inquiry sequence with every step
// scheduled. The acknowledgement (step 0) is marked done, as if sent when
// they wrote; step 1 of every enrollment falls due at the same instant,
// due, as when a weekday window opens on a weekend's inquiries; the later
// steps fall due days away, where the sequence puts them. It returns the
// ids of the n step-1 rows.
func seedDueSteps(ctx context.Context, dbPath string, n int, due time.Time) ([]int64, error) {
	set, err := sequences.Load(templates.Sequences(), sequences.Options{})
	if err != nil {
		return nil, fmt.Errorf("the built-in sequences: %w", err)
	}
	seq := set["inquiry"]
	if seq == nil || len(seq.Steps) < 2 {
		return nil, fmt.Errorf("the built-in sequences have no inquiry sequence of two steps or more")
	}
	sealer, err := seal.New(dataKey)
	if err != nil {
		return nil, err
	}
	// NORMAL: the seeding is not measured, and a power loss here loses
	// nothing of value; the child opens the file with its own setting.
	db, err := store.Open(ctx, "sqlite:"+dbPath+"?synchronous=normal")
	if err != nil {
		return nil, err
	}
	defer db.Close()
	denver, err := time.LoadLocation(practiceTimeZone)
	if err != nil {
		return nil, err
	}
	work := store.InquiryWork{Sequence: enrollmentFor(seq),
		Due: func(i int, start time.Time, _ string) time.Time {
			if i == 1 {
				return due
			}
			return seq.SendAt(i, start, denver).UTC()
		}}
	steps := make([]int64, 0, n)
	for i := range n {
		saved, err := db.SaveInquiry(ctx, store.NewInquiry{
			Contact: store.NewContact{Email: inquirerEmail("", int64(i)), Name: "Person " + strconv.Itoa(i),
				TimeZone: practiceTimeZone, Consent: true},
			Message: inquiryMessage}, sealer)
		if err != nil {
			return nil, err
		}
		work.InquiryID = saved.InquiryID
		p, err := db.ProcessInquiry(ctx, work)
		if err != nil {
			return nil, err
		}
		if !p.Enrolled || len(p.Steps) != len(seq.Steps) || p.Steps[1].Step != 1 {
			return nil, fmt.Errorf("inquiry %d: enrolled %v with %d steps scheduled", saved.InquiryID, p.Enrolled, len(p.Steps))
		}
		steps = append(steps, p.Steps[1].ID)
	}
	return steps, markAcknowledged(ctx, dbPath)
}

// enrollmentFor is seq as an enrollment keeps it (the worker's own
// enrollmentOf, which the bench cannot reach).
func enrollmentFor(seq *sequences.Sequence) store.NewEnrollment {
	e := store.NewEnrollment{Sequence: seq.Name, Version: seq.Version}
	for i, st := range seq.Steps {
		e.Steps = append(e.Steps, store.SequenceStep{Step: i, After: st.After, Template: st.Template, Subject: st.Subject})
	}
	return e
}

// markAcknowledged marks every step 0 done, as its task would have when
// the acknowledgement went out. The store has no call for a step done
// without its send; this is the one write the bench makes past it.
func markAcknowledged(ctx context.Context, dbPath string) error {
	db, err := sql.Open("sqlite", sqliteDSN(dbPath, false))
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `UPDATE enrollment_steps SET done_at = created_at WHERE step = 0`); err != nil {
		return fmt.Errorf("mark the acknowledgements sent: %w", err)
	}
	return nil
}
