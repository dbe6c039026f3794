package store

import "time"

// MarkSending makes db behave as while messages are being sent: sign-ups
// wait up to signupLinger to share a commit.
func (db *DB) MarkSending() { db.lastOutcome.Store(time.Now().UnixNano()) }

// SignupCommits is how many transactions have written sign-ups.
func (db *DB) SignupCommits() int64 { return db.signups.commits.Load() }
