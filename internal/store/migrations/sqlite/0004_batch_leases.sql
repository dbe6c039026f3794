-- Leases are held per batch, not per row: a claim writes one lease row
-- instead of every row of its batch (about a tenth of the CPU of a send on
-- SQLite), and a row stays 'queued' until its outcome is written. The
-- lease columns of deliveries go; rows an older version left 'sending' go
-- back to the queue, their attempt not counted.
CREATE TABLE batch_leases (
    kind      TEXT    NOT NULL,
    source_id INTEGER NOT NULL,
    batch     INTEGER NOT NULL,
    owner     TEXT    NOT NULL DEFAULT '',
    expires_at INTEGER NOT NULL DEFAULT 0, -- unix ms
    PRIMARY KEY (kind, source_id, batch)
);

UPDATE deliveries SET state = 'queued', attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END
    WHERE state = 'sending';
ALTER TABLE deliveries DROP COLUMN lease_owner;
ALTER TABLE deliveries DROP COLUMN lease_until;
