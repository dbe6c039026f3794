package crisis

import (
	"strings"
	"testing"
)

// BenchmarkUrgentLong classifies a long ordinary message (about 10 KB),
// the worst case the inquiry task meets.
func BenchmarkUrgentLong(b *testing.B) {
	c, err := New(nil)
	if err != nil {
		b.Fatal(err)
	}
	msg := strings.Repeat("I have been feeling flat and tired for months, and I would like to talk to someone about it. ", 110)
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		if c.Urgent(msg) {
			b.Fatal("urgent")
		}
	}
}
