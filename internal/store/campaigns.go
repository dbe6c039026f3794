package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Ledger kinds of campaigns.
const (
	KindCampaign     = "campaign"      // source: campaigns.id; one row per recipient
	KindCampaignTest = "campaign_test" // source: campaign_tests.id; one row, outside the campaign's counts
)

// Campaign states.
const (
	CampaignDraft     = "draft"     // no time set yet
	CampaignScheduled = "scheduled" // waiting for send_at
	CampaignSending   = "sending"   // its audience is fixed and its rows are being sent
	CampaignSent      = "sent"      // every row has an outcome
	CampaignCanceled  = "canceled"  // `campaigns cancel`: what was not sent never will be
	CampaignStopped   = "stopped"   // --stop-after-bookings reached
)

// Campaign audiences.
const (
	AudienceNews      = "topic:news"         // confirmed subscribers of the news topic
	AudienceInquirers = "inquirers:unbooked" // inquirers who said yes to news and have not booked
)

// Audiences are the audiences a campaign may have.
var Audiences = []string{AudienceNews, AudienceInquirers}

// HaltedReply starts the last_reply of a campaign row that was never sent
// because its campaign was canceled or stopped: such rows are counted apart
// from those suppressed for their recipient's sake.
const HaltedReply = "not sent: campaign "

// ErrCampaignState is a change the campaign's state does not allow.
var ErrCampaignState = errors.New("not possible in the campaign's state")

// NewCampaign is what `campaigns create` stores.
type NewCampaign struct {
	Subject, Body, Format, Audience string
	SendAt                          time.Time // zero: a draft, until `schedule`
	Spread                          time.Duration
	StopAfterBookings               int
}

// Campaign is a campaigns row.
type Campaign struct {
	ID                int64
	Subject           string
	Body              string
	Format            string
	Audience          string
	State             string
	SendAt            time.Time
	Spread            time.Duration
	StopAfterBookings int
	AudienceSize      int64
	StartedAt         time.Time
	EndedAt           time.Time
	EndReason         string
	CreatedAt         time.Time
}

// CampaignCounts are a campaign's ledger rows by what became of them.
type CampaignCounts struct {
	Sent, Failed, Suppressed, Unknown int64
	Halted                            int64 // not sent: the campaign was canceled or stopped
	Remaining                         int64 // queued: still to be sent
}

// CreateCampaign stores a new campaign, scheduled when n.SendAt is set, and
// returns its id.
func (db *DB) CreateCampaign(ctx context.Context, n NewCampaign) (int64, error) {
	if !contains(Audiences, n.Audience) {
		return 0, unknown("audience", n.Audience, Audiences)
	}
	state := CampaignDraft
	if !n.SendAt.IsZero() {
		state = CampaignScheduled
	}
	now := db.nowMS()
	var id int64
	err := db.tx(ctx, func(tx *Tx) error {
		return tx.queryRow(ctx, `INSERT INTO campaigns (subject, body, format, audience, state, send_at, spread_ms,
			stop_after_bookings, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			n.Subject, n.Body, n.Format, n.Audience, state, ms(n.SendAt), n.Spread.Milliseconds(),
			n.StopAfterBookings, now, now).Scan(&id)
	})
	if err != nil {
		return 0, fmt.Errorf("create campaign: %w", err)
	}
	return id, nil
}

const campaignColumns = `id, subject, body, format, audience, state, send_at, spread_ms, stop_after_bookings,
	audience_size, started_at, ended_at, end_reason, created_at`

func scanCampaign(s interface{ Scan(...any) error }) (Campaign, error) {
	var c Campaign
	var sendAt, started, ended sql.NullInt64
	var spread, created int64
	err := s.Scan(&c.ID, &c.Subject, &c.Body, &c.Format, &c.Audience, &c.State, &sendAt, &spread,
		&c.StopAfterBookings, &c.AudienceSize, &started, &ended, &c.EndReason, &created)
	c.SendAt, c.StartedAt, c.EndedAt = fromMS(sendAt), fromMS(started), fromMS(ended)
	c.Spread, c.CreatedAt = time.Duration(spread)*time.Millisecond, time.UnixMilli(created).UTC()
	return c, err
}

// Campaign returns campaign id, or ErrNotFound.
func (db *DB) Campaign(ctx context.Context, id int64) (*Campaign, error) {
	c, err := scanCampaign(db.queryRow(ctx, `SELECT `+campaignColumns+` FROM campaigns WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("campaign %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("campaign %d: %w", id, err)
	}
	return &c, nil
}

// Campaigns lists the campaigns whose state is one of states (all when
// none is given), newest first.
func (db *DB) Campaigns(ctx context.Context, states ...string) ([]Campaign, error) {
	q, args := `SELECT `+campaignColumns+` FROM campaigns`, []any{}
	if len(states) > 0 {
		q += ` WHERE state IN (` + placeholders(len(states)) + `)`
		for _, s := range states {
			args = append(args, s)
		}
	}
	rows, err := db.query(ctx, q+` ORDER BY id DESC`, args...)
	if err != nil {
		return nil, fmt.Errorf("list campaigns: %w", err)
	}
	defer rows.Close()
	var out []Campaign
	for rows.Next() {
		c, err := scanCampaign(rows)
		if err != nil {
			return nil, fmt.Errorf("list campaigns: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// CampaignCounts returns the counts of every campaign with ledger rows, by
// campaign id: read through the ledger's door, so true while it sends.
func (db *DB) CampaignCounts(ctx context.Context) (map[int64]CampaignCounts, error) {
	l, err := db.ledger(ctx)
	if err != nil {
		return nil, fmt.Errorf("campaign counts: %w", err)
	}
	rows, err := l.read(ctx, `SELECT source_id, state, CASE WHEN last_reply LIKE ? THEN 1 ELSE 0 END, COUNT(*)
		FROM {deliveries} d WHERE kind = ? GROUP BY 1, 2, 3`, HaltedReply+"%", KindCampaign)
	if err != nil {
		return nil, fmt.Errorf("campaign counts: %w", err)
	}
	defer rows.Close()
	out := map[int64]CampaignCounts{}
	for rows.Next() {
		var id, n int64
		var state string
		var halted int
		if err := rows.Scan(&id, &state, &halted, &n); err != nil {
			return nil, fmt.Errorf("campaign counts: %w", err)
		}
		c := out[id]
		switch {
		case state == DeliverySuppressed && halted == 1:
			c.Halted += n
		case state == DeliverySent:
			c.Sent += n
		case state == DeliveryFailed:
			c.Failed += n
		case state == DeliverySuppressed:
			c.Suppressed += n
		case state == DeliveryUnknown:
			c.Unknown += n
		default:
			c.Remaining += n
		}
		out[id] = c
	}
	return out, rows.Err()
}

// ScheduleCampaign sets the time of a draft or scheduled campaign.
func (db *DB) ScheduleCampaign(ctx context.Context, id int64, at time.Time) error {
	res, err := db.exec(ctx, `UPDATE campaigns SET state = ?, send_at = ?, updated_at = ?
		WHERE id = ? AND state IN (?, ?)`, CampaignScheduled, at.UnixMilli(), db.nowMS(), id, CampaignDraft, CampaignScheduled)
	if err != nil {
		return fmt.Errorf("schedule campaign %d: %w", id, err)
	}
	return db.changed(ctx, res, id)
}

// changed is nil when res changed a row; otherwise why campaign id was not
// changed: not there, or in a state that does not allow it.
func (db *DB) changed(ctx context.Context, res sql.Result, id int64) error {
	if n, err := res.RowsAffected(); err != nil || n == 1 {
		return err
	}
	c, err := db.Campaign(ctx, id)
	if err != nil {
		return err
	}
	return fmt.Errorf("campaign %d is %s: %w", id, c.State, ErrCampaignState)
}

// CancelCampaign cancels a campaign not yet sent: nothing more of it goes
// out. Rows no sender holds are marked at once; a sender holding some sees
// the state before its next message (CampaignHalt).
func (db *DB) CancelCampaign(ctx context.Context, id int64) error {
	ok, err := db.haltCampaign(ctx, id, CampaignCanceled, "canceled")
	if err != nil || ok {
		return err
	}
	c, err := db.Campaign(ctx, id)
	if err != nil {
		return err
	}
	return fmt.Errorf("campaign %d is %s: %w", id, c.State, ErrCampaignState)
}

// haltCampaign moves campaign id, if not yet sent or halted, to state
// (canceled or stopped) and marks its queued rows in batches that no live
// lease holds as not sent. It reports whether it moved the campaign.
func (db *DB) haltCampaign(ctx context.Context, id int64, state, why string) (bool, error) {
	now := db.nowMS()
	moved := false
	err := db.tx(ctx, func(tx *Tx) error {
		if _, err := tx.ledger(ctx); err != nil { // fold what senders journalled
			return err
		}
		res, err := tx.exec(ctx, `UPDATE campaigns SET state = ?, end_reason = ?, ended_at = ?, updated_at = ?
			WHERE id = ? AND state IN (?, ?, ?)`, state, why, now, now, id, CampaignDraft, CampaignScheduled, CampaignSending)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil || n == 0 {
			return err
		}
		moved = true
		_, err = tx.exec(ctx, `UPDATE deliveries SET state = 'suppressed', last_reply = ?, done_at = ?
			WHERE kind = ? AND source_id = ? AND state = 'queued' AND batch NOT IN (
				SELECT batch FROM batch_leases WHERE kind = ? AND source_id = ? AND owner <> '' AND expires_at >= ?)`,
			HaltedReply+why, now, KindCampaign, id, KindCampaign, id, now)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("%s campaign %d: %w", state, id, err)
	}
	return moved, nil
}

// DueCampaigns lists the ids of scheduled campaigns whose time has come.
func (db *DB) DueCampaigns(ctx context.Context, now time.Time) ([]int64, error) {
	rows, err := db.query(ctx, `SELECT id FROM campaigns WHERE state = ? AND send_at <= ? ORDER BY send_at, id`,
		CampaignScheduled, now.UnixMilli())
	if err != nil {
		return nil, fmt.Errorf("due campaigns: %w", err)
	}
	return scanIDs(rows)
}

// scanIDs reads and closes rows of one id each.
func scanIDs(rows *sql.Rows) ([]int64, error) {
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// campaignRecipient is one person of an audience as it is fixed.
type campaignRecipient struct {
	id    int64 // subscriber or contact
	email string
	name  string
}

// StartCampaign fixes the audience of campaign id, scheduled and due at
// now, in one transaction: a ledger row for each person, each with its
// slot of the spread (next_attempt_at), and the campaign sending. Rows go
// in batches of batchSize; with firstNames (a body with a first-name slot)
// a batch's people share a first name, kept in campaign_batches, so that
// its message is rendered once. inquirers:unbooked rows go one to a batch,
// the batch being the contact's id (checked one by one at send time). It
// returns the batches, none when the campaign was not due or was started
// already (by another scheduler).
func (db *DB) StartCampaign(ctx context.Context, id int64, batchSize int, firstNames bool) ([]BatchRef, error) {
	now := db.nowMS()
	var out []BatchRef
	err := db.tx(ctx, func(tx *Tx) error {
		out = nil
		var audience string
		var spread int64
		err := tx.queryRow(ctx, `SELECT audience, spread_ms FROM campaigns WHERE id = ? AND state = ? AND send_at <= ?`,
			id, CampaignScheduled, now).Scan(&audience, &spread)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		total, err := tx.audienceSize(ctx, audience)
		if err != nil {
			return err
		}
		if audience == AudienceNews && !firstNames {
			out, err = tx.startNewsInSQL(ctx, id, now, total, spread, max(batchSize, 1))
			if err == nil {
				_, err = tx.exec(ctx, `UPDATE campaigns SET state = ?, started_at = ?, audience_size = ?, updated_at = ? WHERE id = ?`,
					CampaignSending, now, total, now, id)
			}
			return err
		}
		// Page by page, so that a large audience is never all in memory.
		plan := newBatchPlan(audience, batchSize, firstNames)
		ins := newRowInserter(tx, id, now)
		var i, cursor int64
		for {
			page, err := tx.campaignAudience(ctx, audience, cursor, audiencePage)
			if err != nil || len(page) == 0 {
				if err == nil {
					err = ins.flush(ctx)
				}
				if err != nil {
					return err
				}
				break
			}
			for _, p := range page {
				slot := now
				if spread > 0 && total > 1 {
					slot += min(i, total-1) * spread / total
				}
				var sub sql.NullInt64
				if audience == AudienceNews {
					sub = sql.NullInt64{Int64: p.id, Valid: true}
				}
				if err := ins.add(ctx, p.email, sub, plan.assign(p), slot); err != nil {
					return err
				}
				i++
			}
			cursor = page[len(page)-1].id
		}
		for _, b := range plan.order {
			if name := plan.names[b]; name != "" {
				if _, err := tx.exec(ctx, `INSERT INTO campaign_batches (campaign_id, batch, first_name) VALUES (?, ?, ?)`,
					id, b, name); err != nil {
					return err
				}
			}
			out = append(out, BatchRef{Kind: KindCampaign, SourceID: id, Batch: b})
		}
		_, err = tx.exec(ctx, `UPDATE campaigns SET state = ?, started_at = ?, audience_size = ?, updated_at = ? WHERE id = ?`,
			CampaignSending, now, i, now, id)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("start campaign %d: %w", id, err)
	}
	return out, nil
}

// startNewsInSQL writes the ledger rows of a topic:news campaign whose
// body has no first-name slot in one statement, inside the start's
// transaction: the same rows, batches and slots the page-by-page path
// gives (the i-th person, from 0 in subscriber order, in batch
// i/batchSize+1 at slot now+min(i, total-1)*spread/total), without
// reading the audience into Go. The numbers are the transaction's own
// integers, written into the statement.
func (tx *Tx) startNewsInSQL(ctx context.Context, id, now, total, spread int64, batchSize int) ([]BatchRef, error) {
	q, args, _, err := audienceQuery(AudienceNews)
	if err != nil {
		return nil, err
	}
	slot := "0"
	if spread > 0 && total > 1 {
		slot = fmt.Sprintf("(CASE WHEN p.n - 1 < %[1]d THEN p.n - 1 ELSE %[1]d END) * %[2]d / %[3]d", total-1, spread, total)
	}
	// The WHERE true keeps SQLite from reading ON CONFLICT as a join's ON.
	_, err = tx.exec(ctx, fmt.Sprintf(`INSERT INTO deliveries (kind, source_id, recipient, subscriber_id, batch, state, next_attempt_at, created_at)
		SELECT ?, ?, p.email, p.id, (p.n - 1) / %[1]d + 1, 'queued', %[2]d + %[3]s, %[2]d
		FROM (SELECT a.id, a.email, ROW_NUMBER() OVER (ORDER BY a.id) AS n FROM (%[4]s) a) p WHERE true
		ON CONFLICT (kind, source_id, recipient) DO NOTHING`, batchSize, now, slot, q),
		append([]any{KindCampaign, id}, args...)...)
	if err != nil {
		return nil, err
	}
	batches := (total + int64(batchSize) - 1) / int64(batchSize)
	out := make([]BatchRef, 0, batches)
	for b := int64(1); b <= batches; b++ {
		out = append(out, BatchRef{Kind: KindCampaign, SourceID: id, Batch: b})
	}
	return out, nil
}

// audiencePage is how many people StartCampaign reads at a time.
const audiencePage = 5000 // the 10,000-person tests read two pages

// audienceQuery is the query of audience's people (id, email, name),
// its arguments, and the columns that page it, the first of which orders
// it: the topic's index, subscriber_topics (topic, subscriber_id), serves
// the pages of news. Each page bounds both sides of the join by the
// cursor: bound on one side only, PostgreSQL merge-joins the other from
// its first row on every page.
func audienceQuery(audience string) (q string, args []any, keys []string, err error) {
	switch audience {
	case AudienceNews:
		return `SELECT s.id, s.email, s.name FROM subscriber_topics t JOIN subscribers s ON s.id = t.subscriber_id
			WHERE t.topic = ? AND s.status = 'active' AND s.erased_at IS NULL`, []any{TopicNews}, []string{"t.subscriber_id", "s.id"}, nil
	case AudienceInquirers:
		return `SELECT c.id, c.email, c.name FROM contacts c WHERE ` + inquirerEligible, nil, []string{"c.id"}, nil
	}
	return "", nil, nil, unknown("audience", audience, Audiences)
}

// audienceSize counts audience now.
func (tx *Tx) audienceSize(ctx context.Context, audience string) (int64, error) {
	q, args, _, err := audienceQuery(audience)
	if err != nil {
		return 0, err
	}
	var n int64
	err = tx.queryRow(ctx, `SELECT COUNT(*) FROM (`+q+`) p`, args...).Scan(&n)
	return n, err
}

// campaignAudience reads up to limit people of audience after id cursor,
// in id order.
func (tx *Tx) campaignAudience(ctx context.Context, audience string, cursor int64, limit int) ([]campaignRecipient, error) {
	q, args, keys, err := audienceQuery(audience)
	if err != nil {
		return nil, err
	}
	for _, k := range keys {
		q += ` AND ` + k + ` > ?`
		args = append(args, cursor)
	}
	rows, err := tx.query(ctx, q+` ORDER BY `+keys[0]+` LIMIT ?`, append(args, limit)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []campaignRecipient
	for rows.Next() {
		var r campaignRecipient
		if err := rows.Scan(&r.id, &r.email, &r.name); err != nil {
			return nil, err
		}
		r.name = CleanName(r.name)
		out = append(out, r)
	}
	return out, rows.Err()
}

// inquirerEligible is inquirers:unbooked, on contacts c: they inquired,
// said yes to news, have not booked, replied-to is fine, and nothing else
// holds them back (stopped by the therapist, unsubscribed, bounced,
// erased); nor are they a subscriber who left or whose mail bounced.
const inquirerEligible = `c.news_consent = 1 AND c.status IN ('active', 'replied') AND c.erased_at IS NULL
	AND EXISTS (SELECT 1 FROM inquiries q WHERE q.contact_id = c.id)
	AND NOT EXISTS (SELECT 1 FROM subscribers s WHERE s.email = c.email AND s.status IN ('unsubscribed', 'bounced', 'complained'))`

// batchPlan puts recipients in batches as they come: of size people at
// most and, with firstNames (a body with a first-name slot), people who
// share a first name; inquirers each in their own, their contact's id.
type batchPlan struct {
	audience   string
	size       int
	firstNames bool
	order      []int64          // the batches, as opened
	names      map[int64]string // each batch's first name
	open       map[string]int64 // first name → its batch being filled
	fill       map[int64]int
}

func newBatchPlan(audience string, size int, firstNames bool) *batchPlan {
	return &batchPlan{audience: audience, size: max(size, 1), firstNames: firstNames,
		names: map[int64]string{}, open: map[string]int64{}, fill: map[int64]int{}}
}

// assign returns r's batch.
func (p *batchPlan) assign(r campaignRecipient) int64 {
	if p.audience == AudienceInquirers {
		p.order = append(p.order, r.id)
		return r.id
	}
	key := ""
	if p.firstNames {
		key = FirstName(r.name)
	}
	b, ok := p.open[key]
	if !ok || p.fill[b] >= p.size {
		b = int64(len(p.order) + 1)
		p.open[key], p.names[b] = b, key
		p.order = append(p.order, b)
	}
	p.fill[b]++
	return b
}

// FirstName is the first word of a cleaned name: what a {{first_name}}
// field shows.
func FirstName(name string) string {
	f := strings.Fields(CleanName(name))
	if len(f) == 0 {
		return ""
	}
	return f[0]
}

// rowInserter writes ledger rows many to a statement.
type rowInserter struct {
	tx   *Tx
	id   int64
	now  int64
	args []any
	n    int
}

const rowsPerInsert = 200

func newRowInserter(tx *Tx, id, now int64) *rowInserter {
	return &rowInserter{tx: tx, id: id, now: now}
}

func (r *rowInserter) add(ctx context.Context, email string, sub sql.NullInt64, batch, slot int64) error {
	r.args = append(r.args, KindCampaign, r.id, email, sub, batch, slot, r.now)
	r.n++
	if r.n == rowsPerInsert {
		return r.flush(ctx)
	}
	return nil
}

func (r *rowInserter) flush(ctx context.Context) error {
	if r.n == 0 {
		return nil
	}
	values := strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?, ?, 'queued', ?, ?), ", r.n), ", ")
	_, err := r.tx.exec(ctx, `INSERT INTO deliveries (kind, source_id, recipient, subscriber_id, batch, state, next_attempt_at, created_at)
		VALUES `+values+` ON CONFLICT (kind, source_id, recipient) DO NOTHING`, r.args...)
	r.args, r.n = r.args[:0], 0
	return err
}

// CampaignBatchName is the first name batch b of campaign id is rendered
// with: "" when it has none (the fallback).
func (db *DB) CampaignBatchName(ctx context.Context, id, batch int64) (string, error) {
	var name string
	err := db.queryRow(ctx, `SELECT first_name FROM campaign_batches WHERE campaign_id = ? AND batch = ?`, id, batch).Scan(&name)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("campaign %d batch %d: %w", id, batch, err)
	}
	return name, nil
}

// CampaignHalt is the send-time check of a campaign: "" while its rows may
// be sent, otherwise why not (its state). A sending campaign with
// --stop-after-bookings N is stopped here once N booking events have come
// in since it started.
func (db *DB) CampaignHalt(ctx context.Context, id int64) (string, error) {
	var state, why string
	var stopAfter int
	var started sql.NullInt64
	err := db.queryRow(ctx, `SELECT state, end_reason, stop_after_bookings, started_at FROM campaigns WHERE id = ?`, id).Scan(
		&state, &why, &stopAfter, &started)
	if err != nil {
		return "", fmt.Errorf("campaign %d: %w", id, err)
	}
	switch state {
	case CampaignSending, CampaignSent:
	case CampaignCanceled, CampaignStopped:
		return why, nil
	default:
		return "", fmt.Errorf("campaign %d is %s, not sending: %w", id, state, ErrCampaignState)
	}
	if stopAfter <= 0 || state != CampaignSending {
		return "", nil
	}
	n, err := db.BookingsSince(ctx, fromMS(started))
	if err != nil || n < int64(stopAfter) {
		return "", err
	}
	why = fmt.Sprintf("stopped after %d bookings", n)
	if _, err := db.haltCampaign(ctx, id, CampaignStopped, why); err != nil {
		return "", err
	}
	return db.CampaignHalt(ctx, id) // the reason that won, if cancel came first
}

// BookingsSince counts the booking events received at or after t.
func (db *DB) BookingsSince(ctx context.Context, t time.Time) (int64, error) {
	var n int64
	err := db.queryRow(ctx, `SELECT COUNT(*) FROM webhook_events WHERE booked = 1 AND received_at >= ?`, t.UnixMilli()).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count bookings: %w", err)
	}
	return n, nil
}

// FinishCampaigns moves each sending campaign with no row left to send to
// sent, and returns how many it moved.
func (db *DB) FinishCampaigns(ctx context.Context) (int, error) {
	ids, err := db.campaignIDs(ctx, CampaignSending)
	if err != nil || len(ids) == 0 {
		return 0, err
	}
	l, err := db.ledger(ctx)
	if err != nil {
		return 0, fmt.Errorf("finish campaigns: %w", err)
	}
	done := 0
	for _, id := range ids {
		// The IN clause lets SQLite use the partial index of open rows, and
		// the kind and source_id written as expressions keep it from the
		// batch index instead: that one walks every row of the campaign
		// already sent before the first still queued, each tick, which
		// over a 100,000-row send cost ~9% of its CPU.
		var open bool
		if err := l.readRow(ctx, `SELECT EXISTS (SELECT 1 FROM {deliveries} d
			WHERE d.state IN ('queued', 'sending') AND d.state = 'queued' AND d.kind || '' = ? AND d.source_id + 0 = ?)`,
			KindCampaign, id).Scan(&open); err != nil {
			return done, fmt.Errorf("finish campaign %d: %w", id, err)
		}
		if open {
			continue
		}
		now := db.nowMS()
		res, err := db.exec(ctx, `UPDATE campaigns SET state = ?, ended_at = ?, updated_at = ? WHERE id = ? AND state = ?`,
			CampaignSent, now, now, id, CampaignSending)
		if err != nil {
			return done, fmt.Errorf("finish campaign %d: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			done++
		}
	}
	return done, nil
}

func (db *DB) campaignIDs(ctx context.Context, state string) ([]int64, error) {
	cs, err := db.Campaigns(ctx, state)
	ids := make([]int64, len(cs))
	for i, c := range cs {
		ids[i] = c.ID
	}
	return ids, err
}

// SendingCampaigns lists the ids of campaigns being sent.
func (db *DB) SendingCampaigns(ctx context.Context) ([]int64, error) {
	return db.campaignIDs(ctx, CampaignSending)
}

// InquirerToMail is the send-time check of an inquirers:unbooked row: the
// contact's name when they may still be mailed, else ok false and why.
func (db *DB) InquirerToMail(ctx context.Context, contactID int64) (name string, ok bool, why string, err error) {
	var status string
	var eligible bool
	err = db.queryRow(ctx, `SELECT c.name, c.status, CASE WHEN `+inquirerEligible+` THEN 1 ELSE 0 END
		FROM contacts c WHERE c.id = ?`, contactID).Scan(&name, &status, &eligible)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, "contact gone", nil
	}
	if err != nil {
		return "", false, "", fmt.Errorf("check contact %d: %w", contactID, err)
	}
	if !eligible {
		return "", false, "contact " + status + " or without consent to news", nil
	}
	return CleanName(name), true, "", nil
}

// AddCampaignTest writes the one ledger row of a test of campaign id to
// email and returns its batch.
func (db *DB) AddCampaignTest(ctx context.Context, id int64, email string) (BatchRef, error) {
	now := db.nowMS()
	var b BatchRef
	err := db.tx(ctx, func(tx *Tx) error {
		var testID int64
		if err := tx.queryRow(ctx, `INSERT INTO campaign_tests (campaign_id, email, created_at) VALUES (?, ?, ?) RETURNING id`,
			id, email, now).Scan(&testID); err != nil {
			return err
		}
		b = BatchRef{Kind: KindCampaignTest, SourceID: testID, Batch: 1}
		_, err := tx.exec(ctx, `INSERT INTO deliveries (kind, source_id, recipient, batch, state, created_at)
			VALUES (?, ?, ?, 1, 'queued', ?)`, KindCampaignTest, testID, email, now)
		return err
	})
	if err != nil {
		return BatchRef{}, fmt.Errorf("test campaign %d: %w", id, err)
	}
	return b, nil
}

// CampaignTest returns the campaign and the address of test testID.
func (db *DB) CampaignTest(ctx context.Context, testID int64) (campaignID int64, email string, err error) {
	err = db.queryRow(ctx, `SELECT campaign_id, email FROM campaign_tests WHERE id = ?`, testID).Scan(&campaignID, &email)
	if errors.Is(err, sql.ErrNoRows) {
		err = ErrNotFound
	}
	if err != nil {
		return 0, "", fmt.Errorf("campaign test %d: %w", testID, err)
	}
	return campaignID, email, nil
}

// AddressHeldBack reports why email may not be mailed even a test: a
// subscriber who left or bounced, a contact who unsubscribed, bounced or
// was erased. "" when nothing holds it back.
func (db *DB) AddressHeldBack(ctx context.Context, email string) (string, error) {
	var why sql.NullString
	err := db.queryRow(ctx, `SELECT COALESCE(
		(SELECT 'subscriber ' || status FROM subscribers WHERE email = ? AND status IN ('unsubscribed', 'bounced', 'complained')),
		(SELECT 'contact ' || status FROM contacts WHERE email = ? AND status IN ('unsubscribed', 'bounced', 'erased')))`,
		email, email).Scan(&why)
	if err != nil {
		return "", fmt.Errorf("check %s: %w", "address", err)
	}
	return why.String, nil
}

// RecordBooking records a booking event like RecordWebhookEvent, marked as
// a booking: --stop-after-bookings counts these.
func (db *DB) RecordBooking(ctx context.Context, source, key string) (bool, error) {
	return db.recordEvent(ctx, source, key, true)
}
