-- Readers who join and leave by themselves (the public pages), bounces from
-- three doors, and erasure.
--
-- consent_page and consent_ip complete the consent record: the page the
-- form was on, and the client address when privacy.record_ip is on.
-- erased_at marks a row whose person asked to be forgotten: its email is
-- replaced by "erased:<id>", its name and consent cleared, and only a keyed
-- hash of the address is kept, in suppressions. The row stays so that its
-- id is never given to someone else: SQLite may reuse the largest id of a
-- deleted row, and unsubscribe links carrying that id never expire.
ALTER TABLE subscribers ADD COLUMN consent_page TEXT NOT NULL DEFAULT '';
ALTER TABLE subscribers ADD COLUMN consent_ip TEXT NOT NULL DEFAULT '';
ALTER TABLE subscribers ADD COLUMN erased_at INTEGER;

-- One row per request from the public form that sends an email: the source
-- of a 'confirm' (double opt-in) or 'already' (you are already subscribed)
-- delivery. A repeated request within ten minutes writes nothing.
CREATE TABLE signups (
    id            INTEGER PRIMARY KEY,
    subscriber_id INTEGER REFERENCES subscribers(id) ON DELETE SET NULL,
    kind          TEXT    NOT NULL CHECK (kind IN ('confirm','already')),
    source        TEXT    NOT NULL DEFAULT '',
    page_url      TEXT    NOT NULL DEFAULT '',
    ip            TEXT    NOT NULL DEFAULT '',
    created_at    INTEGER NOT NULL
);
CREATE INDEX signups_subscriber ON signups (subscriber_id, created_at);

-- Every bounce and complaint, whichever door it came in by: the SMTP
-- server's own 5xx ('smtp'), a delivery-status or ARF report ('dsn', 'arf'),
-- or the bounce webhook ('webhook').
CREATE TABLE bounces (
    id            INTEGER PRIMARY KEY,
    subscriber_id INTEGER REFERENCES subscribers(id) ON DELETE SET NULL,
    delivery_id   INTEGER,
    type          TEXT    NOT NULL CHECK (type IN ('hard','soft','complaint')),
    status        TEXT    NOT NULL DEFAULT '',
    reason        TEXT    NOT NULL DEFAULT '',
    source        TEXT    NOT NULL DEFAULT '',
    created_at    INTEGER NOT NULL
);
CREATE INDEX bounces_subscriber ON bounces (subscriber_id, created_at);
