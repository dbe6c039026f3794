-- The spine: feeds, posts, subscribers and the deliveries ledger.
-- Times are unix milliseconds (UTC) in both engines, so one set of queries serves both.

CREATE TABLE feeds (
    id            INTEGER PRIMARY KEY,
    name          TEXT    NOT NULL UNIQUE,
    url           TEXT    NOT NULL,
    enabled       INTEGER NOT NULL DEFAULT 1,
    etag          TEXT    NOT NULL DEFAULT '',
    last_modified TEXT    NOT NULL DEFAULT '',
    baselined     INTEGER NOT NULL DEFAULT 0,
    polled_at     INTEGER,
    last_ok_at    INTEGER,
    last_status   TEXT    NOT NULL DEFAULT '',
    last_error    TEXT    NOT NULL DEFAULT '',
    failures      INTEGER NOT NULL DEFAULT 0,
    next_poll_at  INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL
);

CREATE TABLE posts (
    id             INTEGER PRIMARY KEY,
    feed_id        INTEGER NOT NULL REFERENCES feeds(id) ON DELETE CASCADE,
    key            TEXT    NOT NULL,
    guid           TEXT    NOT NULL DEFAULT '',
    url            TEXT    NOT NULL DEFAULT '',
    title          TEXT    NOT NULL DEFAULT '',
    author         TEXT    NOT NULL DEFAULT '',
    content        TEXT    NOT NULL DEFAULT '',
    summary        TEXT    NOT NULL DEFAULT '',
    image_url      TEXT    NOT NULL DEFAULT '',
    hash           TEXT    NOT NULL DEFAULT '',
    published_at   INTEGER,
    state          TEXT    NOT NULL CHECK (state IN ('baseline','new','held','sending','sent','skipped')),
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    UNIQUE (feed_id, key)
);
CREATE INDEX posts_state ON posts (state);

CREATE TABLE subscribers (
    id              INTEGER PRIMARY KEY,
    email           TEXT    NOT NULL UNIQUE,
    name            TEXT    NOT NULL DEFAULT '',
    status          TEXT    NOT NULL CHECK (status IN ('pending','active','unsubscribed','bounced','complained')),
    time_zone       TEXT    NOT NULL DEFAULT '',
    consent_source  TEXT    NOT NULL DEFAULT '',
    consent_at      INTEGER,
    confirmed_at    INTEGER,
    unsubscribed_at INTEGER,
    bounces         INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);

CREATE TABLE subscriber_topics (
    topic         TEXT    NOT NULL,
    subscriber_id INTEGER NOT NULL REFERENCES subscribers(id) ON DELETE CASCADE,
    PRIMARY KEY (topic, subscriber_id)
);
CREATE INDEX subscriber_topics_subscriber ON subscriber_topics (subscriber_id);

-- Fan-out progress of a post or campaign to its audience, page by page, so a
-- fan-out interrupted by a crash carries on where it stopped.
CREATE TABLE fanouts (
    kind      TEXT    NOT NULL,
    source_id INTEGER NOT NULL,
    cursor    INTEGER NOT NULL DEFAULT 0,
    batches   INTEGER NOT NULL DEFAULT 0,
    total     INTEGER NOT NULL DEFAULT 0,
    done      INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (kind, source_id)
);

-- An erased person leaves only this: a hash of the address, so they are never mailed again.
CREATE TABLE suppressions (
    email_hash TEXT    PRIMARY KEY,
    reason     TEXT    NOT NULL,
    created_at INTEGER NOT NULL
);

-- The ledger: one row per (kind, source, recipient), ever.
CREATE TABLE deliveries (
    id              INTEGER PRIMARY KEY,
    kind            TEXT    NOT NULL,
    source_id       INTEGER NOT NULL,
    recipient       TEXT    NOT NULL,
    subscriber_id   INTEGER REFERENCES subscribers(id) ON DELETE SET NULL,
    batch           INTEGER NOT NULL DEFAULT 0,
    state           TEXT    NOT NULL CHECK (state IN ('queued','sending','sent','failed','suppressed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_reply      TEXT    NOT NULL DEFAULT '',
    message_id      TEXT    NOT NULL DEFAULT '',
    lease_owner     TEXT    NOT NULL DEFAULT '',
    lease_until     INTEGER,
    next_attempt_at INTEGER NOT NULL DEFAULT 0,
    sent_at         INTEGER,
    created_at      INTEGER NOT NULL,
    UNIQUE (kind, source_id, recipient)
);
CREATE INDEX deliveries_batch ON deliveries (kind, source_id, batch);
CREATE INDEX deliveries_open ON deliveries (state, next_attempt_at) WHERE state IN ('queued','sending');
