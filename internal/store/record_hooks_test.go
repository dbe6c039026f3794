package store

// HoldWrites takes the SQLite write lock, as a long transaction holds it,
// until the returned function is called: the recorder's next group waits,
// and what is handed to it meanwhile gathers for the group after.
func (db *DB) HoldWrites() (release func()) { return db.lockWrites() }

// PendingRecords is how many outcomes, and how many writes riding along
// (see ride), wait for the recorder's next group.
func (db *DB) PendingRecords() (outcomes, riders int) {
	db.recording.mu.Lock()
	defer db.recording.mu.Unlock()
	return len(db.recording.pending), len(db.recording.riders)
}

// RecorderGroups is how many groups the recorder has taken to write: by
// the time what was handed to it is written, its group is counted.
func (db *DB) RecorderGroups() int64 { return db.recording.groups.Load() }
