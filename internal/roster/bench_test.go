package roster_test

import (
	"strings"
	"testing"
	"time"

	"github.com/practicemail/practicemail/internal/roster"
	"github.com/practicemail/practicemail/internal/store/storetest"
)

// BenchmarkImport20k measures a 20,000-row import, one store transaction per
// row, on each engine. Run it with:
//
//	go test -run '^$' -bench Import20k -benchtime 1x ./internal/roster/
func BenchmarkImport20k(b *testing.B) {
	csv := rows(20000)
	for _, engine := range storetest.Engines {
		b.Run(engine, func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				db := storetest.Open(b, engine)
				b.StartTimer()
				start := time.Now()
				sum, err := roster.Import(ctx, db, strings.NewReader(csv), roster.Options{Confirmed: true})
				if err != nil || sum.Added != 20000 {
					b.Fatalf("Import = %+v, %v", sum, err)
				}
				b.Logf("20,000 rows in %v", time.Since(start).Round(time.Millisecond))
			}
		})
	}
}
