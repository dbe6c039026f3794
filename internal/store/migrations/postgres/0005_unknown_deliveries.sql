-- A delivery whose message went out but whose server never answered the
-- final dot may have been delivered. It is sent again once; if that too
-- goes unanswered it ends in the state 'unknown', never retried.
-- unanswered counts such sends.
ALTER TABLE deliveries DROP CONSTRAINT deliveries_state_check;
ALTER TABLE deliveries ADD CONSTRAINT deliveries_state_check
    CHECK (state IN ('queued','sending','sent','failed','suppressed','unknown'));
ALTER TABLE deliveries ADD COLUMN unanswered BIGINT NOT NULL DEFAULT 0;
