-- The worker's progress through inquiries and sequence steps.
--
-- inquiries.processed_at: the inquiry:received task has written the
-- practice's notification, enrolled the contact and scheduled the steps;
-- the reconciler enqueues the task again for a row where it is NULL.
-- enrollment_steps.done_at: the step's task has run, and either wrote the
-- step's ledger row or found the person no longer to be mailed; the
-- reconciler enqueues the task again for a row where it is NULL.
ALTER TABLE inquiries ADD COLUMN processed_at BIGINT;
ALTER TABLE enrollment_steps ADD COLUMN done_at BIGINT;
CREATE INDEX inquiries_unprocessed ON inquiries (id) WHERE processed_at IS NULL;
CREATE INDEX enrollment_steps_open ON enrollment_steps (due_at) WHERE done_at IS NULL;
