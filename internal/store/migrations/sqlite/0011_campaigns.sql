-- Campaigns: one email the therapist writes, sent once to an audience at a
-- time set (issue 10). Each recipient's send is a ledger row (kind
-- 'campaign', source_id = campaigns.id), all written in the one transaction
-- that starts the send: the audience is fixed then, and each row's
-- next_attempt_at is its slot of --spread, decided once.
--
-- state: draft (no time set), scheduled, sending, sent, canceled (before or
-- during the send), stopped (--stop-after-bookings reached). body is the
-- source as given (format markdown or html), rendered at send time.
-- audience_size is the number of rows written at the start.
CREATE TABLE campaigns (
    id                  INTEGER PRIMARY KEY,
    subject             TEXT    NOT NULL,
    body                TEXT    NOT NULL,
    format              TEXT    NOT NULL CHECK (format IN ('markdown','html')),
    audience            TEXT    NOT NULL,
    state               TEXT    NOT NULL CHECK (state IN ('draft','scheduled','sending','sent','canceled','stopped')),
    send_at             INTEGER,
    spread_ms           INTEGER NOT NULL DEFAULT 0,
    stop_after_bookings INTEGER NOT NULL DEFAULT 0,
    audience_size       INTEGER NOT NULL DEFAULT 0,
    started_at          INTEGER,
    ended_at            INTEGER,
    end_reason          TEXT    NOT NULL DEFAULT '',
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL
);
CREATE INDEX campaigns_state ON campaigns (state, send_at);

-- The first name a batch of a personal campaign is rendered with: the
-- recipients of a batch share it, so the message is rendered once a batch.
CREATE TABLE campaign_batches (
    campaign_id INTEGER NOT NULL REFERENCES campaigns(id),
    batch       INTEGER NOT NULL,
    first_name  TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (campaign_id, batch)
);

-- `campaigns test ID --to EMAIL`: each is the source of one ledger row of
-- kind 'campaign_test', outside the campaign's counts.
CREATE TABLE campaign_tests (
    id          INTEGER PRIMARY KEY,
    campaign_id INTEGER NOT NULL REFERENCES campaigns(id),
    email       TEXT    NOT NULL,
    created_at  INTEGER NOT NULL
);

-- The inquiry form's second, separate question: "you may tell me about
-- openings and news". contacts.consent answers only "follow-up emails over
-- the next two weeks"; inquirers:unbooked needs this one.
ALTER TABLE contacts ADD COLUMN news_consent INTEGER NOT NULL DEFAULT 0;

-- Which webhook events were bookings (not cancellations or reschedules):
-- --stop-after-bookings counts them.
ALTER TABLE webhook_events ADD COLUMN booked INTEGER NOT NULL DEFAULT 0;
CREATE INDEX webhook_events_booked ON webhook_events (received_at) WHERE booked = 1;
