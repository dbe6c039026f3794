-- Digests (issue 10). A feed whose digest is set ("Mon 09:00", practice
-- time) sends the subscribers of posts who chose the weekly digest one email
-- per period listing that period's posts, instead of one email per post.
--
-- feeds.digest: the configured digest time; '' for one email per post.
-- Written by the owner of the feeds table, like every_ms.
-- feeds.digest_since: when the feed last became a digest feed (unix ms):
-- posts first seen before then were sent one by one to everyone.
-- subscribers.digest: 1 when the person chose "weekly digest" over "each post".
ALTER TABLE feeds ADD COLUMN digest TEXT NOT NULL DEFAULT '';
ALTER TABLE feeds ADD COLUMN digest_since INTEGER NOT NULL DEFAULT 0;
ALTER TABLE subscribers ADD COLUMN digest INTEGER NOT NULL DEFAULT 0;

-- One row per feed per period, written once by the leading scheduler;
-- source of the ledger's 'digest' rows. period_end is the digest time.
CREATE TABLE digests (
    id           INTEGER PRIMARY KEY,
    feed_id      INTEGER NOT NULL REFERENCES feeds(id) ON DELETE CASCADE,
    period_start INTEGER NOT NULL,
    period_end   INTEGER NOT NULL,
    state        TEXT    NOT NULL CHECK (state IN ('empty','sending','sent','failed')),
    failure      TEXT    NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    UNIQUE (feed_id, period_end)
);
CREATE INDEX digests_sending ON digests (id) WHERE state = 'sending';

-- The posts a digest lists, fixed when it is written; a post is listed once.
CREATE TABLE digest_posts (
    digest_id INTEGER NOT NULL REFERENCES digests(id) ON DELETE CASCADE,
    post_id   INTEGER NOT NULL UNIQUE REFERENCES posts(id) ON DELETE CASCADE,
    PRIMARY KEY (digest_id, post_id)
);
