package web

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/practicemail/practicemail/internal/ratelimit"
	"github.com/practicemail/practicemail/internal/redistest"
	"github.com/practicemail/practicemail/internal/store/storetest"
)

// BenchmarkInquiryJSON measures POST /inquiries over loopback HTTP, each
// request a new address with a message of about 1 KB: both rate limits in
// Redis, the crisis classifier, sealing, one transaction and the answer.
// It reports the 50th and 99th percentile latency of one request.
func BenchmarkInquiryJSON(b *testing.B) {
	rules := DefaultRules
	rules.InquiryIP = ratelimit.Rule{Name: "inquiry-ip", Limit: 1 << 20, Per: time.Hour}
	rules.InquiryEmail = ratelimit.Rule{Name: "inquiry-email", Limit: 1 << 20, Per: time.Hour}
	msg := strings.Repeat("Lately I have felt far away from everything, and a friend said your practice goes slowly. ", 11)
	for _, engine := range storetest.Engines {
		b.Run(engine, func(b *testing.B) {
			e, _ := inquiryEnv(b, storetest.URL(b, engine), limitedB(b, rules))
			client := &http.Client{}
			var took []time.Duration
			i := 0
			for b.Loop() {
				i++
				start := time.Now()
				res, err := client.Post(e.url+"/inquiries", jsonType, strings.NewReader(fmt.Sprintf(
					`{"name":"P %d","email":"p%d@example.com","message":%q,"time_zone":"America/Denver","consent":true}`, i, i, msg)))
				if err != nil {
					b.Fatal(err)
				}
				res.Body.Close()
				took = append(took, time.Since(start))
				if res.StatusCode != http.StatusAccepted {
					b.Fatalf("status %d", res.StatusCode)
				}
			}
			slices.Sort(took)
			b.ReportMetric(float64(took[len(took)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(took[len(took)*99/100].Microseconds())/1000, "p99-ms")
		})
	}
}

// limitedB is limited for a benchmark.
func limitedB(b *testing.B, rules Rules) func(*Server) {
	rdb := redistest.Client(b, redistest.RateLimit)
	prefix := fmt.Sprintf("practicemail:test:web:%s:%d:", b.Name(), time.Now().UnixNano())
	return func(s *Server) { s.Limiter, s.Rules = ratelimit.New(rdb, prefix), rules }
}
