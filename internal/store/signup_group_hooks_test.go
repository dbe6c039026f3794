package store

import "context"

// HoldSignups makes sign-ups wait, as if a group were being written, until
// the returned function is called: those that arrive meanwhile are then
// written together.
func (db *DB) HoldSignups() (release func()) {
	g := &db.signups
	g.mu.Lock()
	g.leading = true
	g.mu.Unlock()
	return func() {
		go db.leadSignups(context.Background())
	}
}

// PendingSignups is how many sign-ups wait for the next group.
func (db *DB) PendingSignups() int {
	db.signups.mu.Lock()
	defer db.signups.mu.Unlock()
	return len(db.signups.pending)
}

// SignupCommits is how many transactions have written sign-ups.
func (db *DB) SignupCommits() int64 { return db.signups.commits.Load() }
