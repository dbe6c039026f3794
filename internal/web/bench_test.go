package web

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/practicemail/practicemail/internal/store/storetest"
)

// BenchmarkSubscribeJSON measures POST /subscribe over loopback HTTP into
// SQLite, each request a new address: validation, one transaction and the
// answer, without rate limits.
func BenchmarkSubscribeJSON(b *testing.B) {
	for _, engine := range storetest.Engines {
		b.Run(engine, func(b *testing.B) {
			e := newEnv(b, storetest.URL(b, engine), nil)
			client := &http.Client{}
			i := 0
			for b.Loop() {
				i++
				res, err := client.Post(e.url+"/subscribe", "application/json",
					strings.NewReader(fmt.Sprintf(`{"email":"p%d@example.com","name":"P %d"}`, i, i)))
				if err != nil {
					b.Fatal(err)
				}
				res.Body.Close()
				if res.StatusCode != http.StatusAccepted {
					b.Fatalf("status %d", res.StatusCode)
				}
			}
		})
	}
}
