-- A post that cannot be rendered is failed, with the reason, instead of
-- sitting in the queue for ever; deliveries remember when they reached a
-- final state, so that `status --failures` can say when each failed.
ALTER TABLE posts DROP CONSTRAINT posts_state_check;
ALTER TABLE posts ADD CONSTRAINT posts_state_check
    CHECK (state IN ('baseline','new','held','sending','sent','skipped','failed'));
ALTER TABLE posts ADD COLUMN failure TEXT NOT NULL DEFAULT '';

ALTER TABLE deliveries ADD COLUMN done_at BIGINT;
UPDATE deliveries SET done_at = sent_at WHERE state = 'sent';
