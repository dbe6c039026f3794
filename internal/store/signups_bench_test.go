package store_test

import (
	"context"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/practicemail/practicemail/internal/store"
	"github.com/practicemail/practicemail/internal/store/storetest"
)

// BenchmarkRequestSignup measures one request from the public form on
// SQLite: a new address, stored pending with its consent and its
// confirmation queued in the ledger, in one transaction. Its CPU time per
// operation (cpu-µs/op, the process's user and system time) is what each
// sign-up takes from a fan-out running beside it; its time per operation
// is mostly the commit's fsync.
func BenchmarkRequestSignup(b *testing.B) {
	db := storetest.Open(b, "sqlite")
	ctx := context.Background()
	start := time.Now()
	i := 0
	db.Now = func() time.Time { return start.Add(time.Duration(i) * time.Millisecond) }
	b.ReportAllocs()
	cpu0 := cpuTime(b)
	for b.Loop() {
		r, err := db.RequestSignup(ctx, store.SignupRequest{Email: fmt.Sprintf("reader%07d@example.org", i),
			Topics: []string{store.TopicPosts}, Source: "json"})
		if err != nil || r.Outcome != store.SignupConfirm {
			b.Fatalf("sign-up %d = %+v, %v", i, r, err)
		}
		i++
	}
	b.ReportMetric(float64((cpuTime(b)-cpu0).Microseconds())/float64(i), "cpu-µs/op")
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
