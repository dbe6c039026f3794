-- A post that cannot be rendered is failed, with the reason, instead of
-- sitting in the queue for ever; deliveries remember when they reached a
-- final state, so that `status --failures` can say when each failed.
-- SQLite cannot change a CHECK constraint in place: the posts table is
-- rebuilt (no table refers to it).
CREATE TABLE posts_new (
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
    state          TEXT    NOT NULL CHECK (state IN ('baseline','new','held','sending','sent','skipped','failed')),
    failure        TEXT    NOT NULL DEFAULT '',
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    UNIQUE (feed_id, key)
);
INSERT INTO posts_new (id, feed_id, key, guid, url, title, author, content, summary, image_url, hash,
    published_at, state, created_at, updated_at)
SELECT id, feed_id, key, guid, url, title, author, content, summary, image_url, hash,
    published_at, state, created_at, updated_at FROM posts;
DROP TABLE posts;
ALTER TABLE posts_new RENAME TO posts;
CREATE INDEX posts_state ON posts (state);

ALTER TABLE deliveries ADD COLUMN done_at INTEGER;
UPDATE deliveries SET done_at = sent_at WHERE state = 'sent';
