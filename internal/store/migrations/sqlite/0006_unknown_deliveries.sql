-- A delivery whose message went out but whose server never answered the
-- final dot may have been delivered. It is sent again once; if that too
-- goes unanswered it ends in the state 'unknown', never retried.
-- unanswered counts such sends. SQLite cannot change a CHECK constraint,
-- so the ledger is rebuilt with the new state; nothing references it.
CREATE TABLE deliveries_new (
    id              INTEGER PRIMARY KEY,
    kind            TEXT    NOT NULL,
    source_id       INTEGER NOT NULL,
    recipient       TEXT    NOT NULL,
    subscriber_id   INTEGER REFERENCES subscribers(id) ON DELETE SET NULL,
    batch           INTEGER NOT NULL DEFAULT 0,
    state           TEXT    NOT NULL CHECK (state IN ('queued','sending','sent','failed','suppressed','unknown')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    unanswered      INTEGER NOT NULL DEFAULT 0,
    last_reply      TEXT    NOT NULL DEFAULT '',
    message_id      TEXT    NOT NULL DEFAULT '',
    next_attempt_at INTEGER NOT NULL DEFAULT 0,
    sent_at         INTEGER,
    done_at         INTEGER,
    created_at      INTEGER NOT NULL,
    UNIQUE (kind, source_id, recipient)
);
INSERT INTO deliveries_new (id, kind, source_id, recipient, subscriber_id, batch, state, attempts,
        last_reply, message_id, next_attempt_at, sent_at, done_at, created_at)
    SELECT id, kind, source_id, recipient, subscriber_id, batch, state, attempts,
        last_reply, message_id, next_attempt_at, sent_at, done_at, created_at FROM deliveries;
DROP TABLE deliveries;
ALTER TABLE deliveries_new RENAME TO deliveries;
CREATE INDEX deliveries_batch ON deliveries (kind, source_id, batch);
CREATE INDEX deliveries_open ON deliveries (state, next_attempt_at) WHERE state IN ('queued','sending');

ALTER TABLE outcomes ADD COLUMN unanswered INTEGER NOT NULL DEFAULT 0;
