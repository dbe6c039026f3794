package main

import (
	"fmt"
	"strings"
	"time"
)

// The targets for the inquiry section.
const targetInquiryP99 = 50 * time.Millisecond

// rateAllowance is the most the send rate lets through in one second at
// rate messages a second: the rate itself, plus the limiter's bucket (a
// tenth of a second's worth, mail.NewLimiter) and the batch of that size a
// process may hold taken from it.
func rateAllowance(rate int) int64 {
	burst := max(1, rate/10)
	return int64(rate + 2*burst)
}

// inquiryReport is the inquiry section's tables and verdicts.
func inquiryReport(o options, r inquiryResult) string {
	var b strings.Builder
	d := r.due
	fmt.Fprintf(&b, "\n## %d sequence steps falling due at once, smtp.rate %d/s\n\n", d.n, d.rate)
	fmt.Fprintf(&b, "%d people in the built-in inquiry sequence (written through the store as inquiries, sealed, enrolled),\n", d.n)
	b.WriteString("their acknowledgements sent, step 2 of every one due at the same instant (as when a weekday window opens on a\n")
	fmt.Fprintf(&b, "weekend's inquiries) and their later steps days away: %d open steps. practicemail was started %.1f s before\n", d.open, d.ready.Seconds())
	b.WriteString("they fell due; the sink's counter was read every 10 ms.\n\n")
	b.WriteString("| | |\n|---|---|\n")
	fmt.Fprintf(&b, "| due → last sent | %.1f s (%.1f s at the rate) |\n", d.span().Seconds(), float64(d.n)/float64(d.rate))
	fmt.Fprintf(&b, "| due → first sent | %.2f s |\n", d.ledger.first.Sub(d.due).Seconds())
	fmt.Fprintf(&b, "| busiest whole second at the sink | %d (rate %d/s; at most %d with the limiter's burst) |\n", d.busiestCalendar(), d.rate, rateAllowance(d.rate))
	fmt.Fprintf(&b, "| busiest second, sliding | %d |\n", busiestSecond(d.ticks))
	fmt.Fprintf(&b, "| per whole second from due | %s |\n", compactSeconds(d.seconds()))
	fmt.Fprintf(&b, "| sink counted | %d |\n", d.sink)
	fmt.Fprintf(&b, "| ledger: step rows / sent / distinct steps / distinct addresses / other rows | %d / %d / %d / %d / %d |\n",
		d.ledger.rows, d.ledger.sent, d.ledger.sources, d.ledger.recipients, d.ledger.others)
	fmt.Fprintf(&b, "| peak RSS MB: until the last send / whole life | %.1f / %.1f |\n", mb(d.doneRSS), mb(d.pm.maxRSS))
	fmt.Fprintf(&b, "| CPU s, due → last sent: practicemail / Redis / smtp-sink | %s / %s / %s |\n", secs(d.use.child), secs(d.use.redis), secs(d.use.sink))
	fmt.Fprintf(&b, "| other load, cores | %s |\n", cores(d.use.otherCores()))
	fmt.Fprintf(&b, "| Redis used_memory MB: once started (the reconciler has enqueued the steps due within the hour) / peak | %.1f / %.1f |\n", mb(d.redis.ready), mb(d.redis.peak))
	fmt.Fprintf(&b, "| seeding s | %.1f |\n", d.seed.Seconds())
	within, once, mem := "met", "met", "met"
	if d.busiestCalendar() > rateAllowance(d.rate) {
		within = "NOT met"
	}
	if !d.once() {
		once = "NOT met"
	}
	if d.pm.maxRSS >= targetRSS {
		mem = "NOT met"
	}
	fmt.Fprintf(&b, "\nTargets: within the send rate: %s; each exactly once: %s; peak RSS under 64 MB: %s.\n", within, once, mem)
	b.WriteString(postReport(o, r.posts))
	return b.String()
}

// postReport is the POST /inquiries table.
func postReport(o options, r postResult) string {
	var b strings.Builder
	q := o.inq
	b.WriteString("\n## POST /inquiries\n\n")
	b.WriteString("JSON inquiries over loopback to `practicemail run`, each from a new address and a client address of its own, with a\n")
	b.WriteString("message of about 300 bytes and consent: each passes both rate limits in Redis, is classified, sealed and stored, and\n")
	fmt.Fprintf(&b, "its task sends the practice's notification and the acknowledgement (smtp.rate %d/s) while the load goes on.\n\n", q.rate)
	b.WriteString("| load | inquiries/s | p50 | p99 | max | not 2xx |\n|---|---:|---:|---:|---:|---|\n")
	row := func(name string, l loadResult) {
		fmt.Fprintf(&b, "| %s | %.0f | %s | %s | %s | %s |\n", name, l.rate(), ms(l.pct(50)), ms(l.pct(99)), ms(l.pct(100)), l.others())
	}
	row(fmt.Sprintf("%d clients back to back, %s", q.postConns, q.postFor), r.closed)
	row(fmt.Sprintf("%.0f/s, %s", q.postRate, q.postFor), r.open)
	verdict := "met"
	if r.open.pct(99) >= targetInquiryP99 || len(r.open.lat) == 0 {
		verdict = "NOT met"
	}
	fmt.Fprintf(&b, "\nTarget: p99 under %s at %.0f/s: %s (%s). The closed loop's emails took %.1f s more to send after it stopped.\n",
		ms(targetInquiryP99), q.postRate, ms(r.open.pct(99)), verdict, r.drained.Seconds())
	fmt.Fprintf(&b, "Peak RSS over the run: %.1f MB.\n", mb(r.pm.maxRSS))
	return b.String()
}

func secs(d time.Duration) string {
	if d < 0 {
		return "?"
	}
	return fmt.Sprintf("%.1f", d.Seconds())
}

// compactSeconds lists per-second counts, runs of the same count as
// "count×seconds".
func compactSeconds(counts []int64) string {
	var parts []string
	for i := 0; i < len(counts); {
		j := i
		for j < len(counts) && counts[j] == counts[i] {
			j++
		}
		if j-i > 1 {
			parts = append(parts, fmt.Sprintf("%d×%d", counts[i], j-i))
		} else {
			parts = append(parts, fmt.Sprint(counts[i]))
		}
		i = j
	}
	if len(parts) == 0 {
		return "—"
	}
	return strings.Join(parts, " ")
}
