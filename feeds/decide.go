package feeds

import (
	"slices"
)

// Decision is what one poll of a feed found, split by what to do with it.
type Decision struct {
	// Baseline is, on a feed's first poll, every item: record them, send none.
	Baseline []Item
	// New are unseen items to send, oldest first so emails go out in order.
	New []Item
	// Held are unseen items that arrived more than holdOver at once (a blog
	// migration, an importer): record them for approval, send none. Oldest
	// first.
	Held []Item
	// Updated are known items whose Hash changed: update the stored copy,
	// never send again.
	Updated []Item
}

// Decide decides what a poll found. known maps the Key of every item
// already stored for the feed to its Hash. On the first poll every item is
// Baseline. Otherwise unseen items are New, unless there are more than
// holdOver of them, in which case all of them are Held; holdOver < 0
// disables holding and 0 holds every new item. When a Key occurs twice in
// items, the first occurrence wins. Decide does not modify its arguments.
func Decide(known map[string]string, items []Item, firstPoll bool, holdOver int) Decision {
	items = firstByKey(items)
	if firstPoll {
		return Decision{Baseline: items}
	}
	var d Decision
	var unseen []Item
	for _, it := range items {
		hash, ok := known[it.Key]
		switch {
		case !ok:
			unseen = append(unseen, it)
		case hash != it.Hash:
			d.Updated = append(d.Updated, it)
		}
	}
	oldestFirst(unseen)
	if holdOver >= 0 && len(unseen) > holdOver {
		d.Held = unseen
	} else {
		d.New = unseen
	}
	return d
}

// firstByKey returns a copy of items keeping the first item of each Key.
func firstByKey(items []Item) []Item {
	seen := make(map[string]bool, len(items))
	var out []Item
	for _, it := range items {
		if !seen[it.Key] {
			seen[it.Key] = true
			out = append(out, it)
		}
	}
	return out
}

// oldestFirst orders items by Published. Feeds list newest first, so the
// document order is reversed first; that order stands when any item lacks
// a date, and breaks ties otherwise.
func oldestFirst(items []Item) {
	slices.Reverse(items)
	for _, it := range items {
		if it.Published.IsZero() {
			return
		}
	}
	slices.SortStableFunc(items, func(a, b Item) int { return a.Published.Compare(b.Published) })
}
