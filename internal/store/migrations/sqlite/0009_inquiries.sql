-- Inquiries from the practice's form and the follow-up sequences they start.
--
-- The person (contacts) is kept apart from what they wrote (inquiries): the
-- contact record is what sequences, webhooks and replies act on; the
-- message is private. inquiries.message and inquiries.preferred_time hold
-- only sealed bytes (internal/seal: AES-256-GCM under secrets.data_key,
-- the associated data naming the inquiry and the field; see
-- store.InquiryAD), never text. Retention sets them NULL and stamps
-- message_deleted_at; the row stays, for the count and the views.
--
-- A contact's status: active (may get sequence steps), or the reason they
-- get no more: booked, replied, stopped (by the therapist), unsubscribed,
-- bounced, erased. consent is their answer to "follow-up emails".
-- An erased contact keeps its row, anonymised (email "erased:<id>"), so
-- that its id is never given to someone else.
CREATE TABLE contacts (
    id          INTEGER PRIMARY KEY,
    email       TEXT    NOT NULL UNIQUE,
    name        TEXT    NOT NULL DEFAULT '',
    phone       TEXT    NOT NULL DEFAULT '',
    time_zone   TEXT    NOT NULL DEFAULT '',
    consent     INTEGER NOT NULL DEFAULT 0,
    status      TEXT    NOT NULL DEFAULT 'active'
        CHECK (status IN ('active','booked','replied','stopped','unsubscribed','bounced','erased')),
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    erased_at   INTEGER
);

CREATE TABLE inquiries (
    id                 INTEGER PRIMARY KEY,
    contact_id         INTEGER NOT NULL REFERENCES contacts(id),
    message            BLOB,
    preferred_time     BLOB,
    urgent             INTEGER NOT NULL DEFAULT 0,
    created_at         INTEGER NOT NULL,
    message_deleted_at INTEGER
);
CREATE INDEX inquiries_contact ON inquiries (contact_id);
CREATE INDEX inquiries_retention ON inquiries (created_at) WHERE message_deleted_at IS NULL;

-- Each `inquiries show`: who opened which message, and when.
CREATE TABLE inquiry_views (
    id         INTEGER PRIMARY KEY,
    inquiry_id INTEGER NOT NULL REFERENCES inquiries(id),
    viewer     TEXT    NOT NULL,
    viewed_at  INTEGER NOT NULL
);
CREATE INDEX inquiry_views_inquiry ON inquiry_views (inquiry_id);

-- A contact in a sequence. steps is the sequence as it was when they
-- started (JSON: step, after, template, subject), and version names that
-- edition: editing or removing a step later never changes what this
-- enrollment sends. One active enrollment per contact per sequence.
CREATE TABLE enrollments (
    id          INTEGER PRIMARY KEY,
    contact_id  INTEGER NOT NULL REFERENCES contacts(id),
    sequence    TEXT    NOT NULL,
    version     TEXT    NOT NULL DEFAULT '',
    steps       TEXT    NOT NULL,
    state       TEXT    NOT NULL DEFAULT 'active' CHECK (state IN ('active','done','stopped')),
    stop_reason TEXT    NOT NULL DEFAULT '',
    started_at  INTEGER NOT NULL,
    ended_at    INTEGER
);
CREATE UNIQUE INDEX enrollments_one_active ON enrollments (contact_id, sequence) WHERE state = 'active';

-- One row per step of an enrollment that was scheduled: the step's send
-- is the ledger row (kind 'step', source_id = enrollment_steps.id,
-- recipient the contact's email). UNIQUE (enrollment_id, step) gives each
-- step one source, and the ledger's UNIQUE (kind, source_id, recipient)
-- one send; due_at lets the reconciler re-create a step task Redis lost.
-- (Encoding enrollment id * 100 + step in source_id would have needed no
-- table, but nowhere to keep due_at.)
CREATE TABLE enrollment_steps (
    id            INTEGER PRIMARY KEY,
    enrollment_id INTEGER NOT NULL REFERENCES enrollments(id),
    step          INTEGER NOT NULL,
    due_at        INTEGER NOT NULL,
    created_at    INTEGER NOT NULL,
    UNIQUE (enrollment_id, step)
);

-- Webhook deliveries already acted on, for idempotency: Calendly's
-- payload.uri, Cal.com's payload.uid, the booking webhook's body hash.
CREATE TABLE webhook_events (
    source      TEXT    NOT NULL,
    event_key   TEXT    NOT NULL,
    received_at INTEGER NOT NULL,
    PRIMARY KEY (source, event_key)
);
