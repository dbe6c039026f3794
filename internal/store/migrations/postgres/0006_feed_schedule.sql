-- A feed's schedule lives with the feed, written only by the configuration
-- that owns the feeds table (the leading scheduler, or `poll` when no
-- scheduler runs): every process that polls it keeps to the same interval.
ALTER TABLE feeds ADD COLUMN every_ms BIGINT NOT NULL DEFAULT 900000;
ALTER TABLE feeds ADD COLUMN hold_over BIGINT NOT NULL DEFAULT 3;
