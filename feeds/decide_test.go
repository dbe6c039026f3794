package feeds

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// post makes an item published on day d of January 2025; d == 0 means no date.
func post(key, hash string, d int) Item {
	it := Item{Key: key, Hash: hash, Title: key}
	if d > 0 {
		it.Published = time.Date(2025, time.January, d, 9, 0, 0, 0, time.UTC)
	}
	return it
}

func TestDecide(t *testing.T) {
	// A feed as blogs publish it: newest first.
	feed := []Item{post("guid:c", "hc", 3), post("guid:b", "hb", 2), post("guid:a", "ha", 1)}
	knownAB := map[string]string{"guid:a": "ha", "guid:b": "hb"}
	knownA := map[string]string{"guid:a": "ha"}

	tests := []struct {
		name      string
		known     map[string]string
		items     []Item
		firstPoll bool
		holdOver  int
		want      Decision
	}{
		{"first poll records everything, sends nothing", nil, feed, true, 3,
			Decision{Baseline: feed}},
		{"first poll with many items still only baseline", nil, feed, true, 0,
			Decision{Baseline: feed}},
		{"nothing new", map[string]string{"guid:a": "ha", "guid:b": "hb", "guid:c": "hc"}, feed, false, 3,
			Decision{}},
		{"one new", knownAB, feed, false, 3,
			Decision{New: []Item{feed[0]}}},
		{"new items go out oldest first", knownA, feed, false, 3,
			Decision{New: []Item{feed[1], feed[0]}}},
		{"edit of a known item is an update, not a send", map[string]string{"guid:a": "ha", "guid:b": "old", "guid:c": "hc"}, feed, false, 3,
			Decision{Updated: []Item{feed[1]}}},
		{"more than holdOver: all held", nil, feed, false, 2,
			Decision{Held: []Item{feed[2], feed[1], feed[0]}}},
		{"exactly holdOver: sent", knownA, feed, false, 2,
			Decision{New: []Item{feed[1], feed[0]}}},
		{"holdOver 0 holds any new item", knownAB, feed, false, 0,
			Decision{Held: []Item{feed[0]}}},
		{"negative holdOver disables holding", nil, feed, false, -1,
			Decision{New: []Item{feed[2], feed[1], feed[0]}}},
		{"new and updated together", map[string]string{"guid:a": "changed"}, feed, false, 3,
			Decision{New: []Item{feed[1], feed[0]}, Updated: []Item{feed[2]}}},
		{"duplicate keys: first wins", knownA,
			[]Item{post("guid:b", "first", 2), post("guid:b", "second", 5), post("guid:a", "ha", 1)}, false, 3,
			Decision{New: []Item{post("guid:b", "first", 2)}}},
		{"duplicate keys in baseline", nil,
			[]Item{post("guid:b", "first", 2), post("guid:b", "second", 2)}, true, 3,
			Decision{Baseline: []Item{post("guid:b", "first", 2)}}},
		{"undated items: reverse document order", nil,
			[]Item{post("url:3", "h", 0), post("url:2", "h", 5), post("url:1", "h", 0)}, false, -1,
			Decision{New: []Item{post("url:1", "h", 0), post("url:2", "h", 5), post("url:3", "h", 0)}}},
		{"oldest-first feed is sorted by date", nil,
			[]Item{post("guid:a", "h", 1), post("guid:c", "h", 3), post("guid:b", "h", 2)}, false, -1,
			Decision{New: []Item{post("guid:a", "h", 1), post("guid:b", "h", 2), post("guid:c", "h", 3)}}},
		{"empty feed", knownA, nil, false, 3, Decision{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := append([]Item(nil), tt.items...)
			got := Decide(tt.known, tt.items, tt.firstPoll, tt.holdOver)
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Decide (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(before, tt.items, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Decide modified its input (-before +after):\n%s", diff)
			}
		})
	}
}
