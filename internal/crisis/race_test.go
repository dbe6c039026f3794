package crisis

import (
	"sync"
	"testing"
)

// Urgent is safe for concurrent use: under -race, messages classified at
// once from many goroutines race on nothing and are all classified right.
func TestUrgentConcurrently(t *testing.T) {
	c, err := New(nil)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			msg, want := "Ｉ ｗａｎｔ ｔｏ ｋｉｌｌ ｍｙｓｅｌｆ", true
			if i%2 == 1 {
				msg, want = "I feel sad about my café job", false
			}
			for range 50 {
				if got := c.Urgent(msg); got != want {
					t.Errorf("Urgent(%q) = %v", msg, got)
					return
				}
			}
		})
	}
	wg.Wait()
}
