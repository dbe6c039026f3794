-- The outcomes journal (SQLite only; see store/outcomes.go). Each send's
-- outcome is appended here the moment the SMTP server answers, and folded
-- into deliveries in bulk when its batch's lease is released, when rows are
-- claimed, and before the ledger is read. An append touches one page that
-- every sender shares; updating the delivery row itself touches its table
-- and index pages, different for each sender, and costs SQLite a WAL frame
-- per page per commit.
CREATE TABLE outcomes (
    seq             INTEGER PRIMARY KEY,
    delivery_id     INTEGER NOT NULL,
    state           TEXT    NOT NULL,
    reply           TEXT    NOT NULL,
    message_id      TEXT    NOT NULL,
    next_attempt_at INTEGER NOT NULL,
    at              INTEGER NOT NULL,
    bounce          INTEGER NOT NULL DEFAULT 0
);
