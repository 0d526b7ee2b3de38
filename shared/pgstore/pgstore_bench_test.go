package pgstore_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/numbers-app/numbers/shared/number"
	"github.com/numbers-app/numbers/shared/testenv"
)

// benchInsert inserts batches of size rows from 4 goroutines and reports rows/s.
func benchInsert(b *testing.B, size int) {
	s := testenv.Store(b)
	var rows atomic.Int64
	b.SetParallelism(2) // 2 x GOMAXPROCS(2) = 4 goroutines
	start := time.Now()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		batch := make([]number.Submission, size)
		for pb.Next() {
			now := time.Now()
			for i := range batch {
				batch[i] = sub(int64(i), now)
			}
			n, err := s.Insert(context.Background(), batch)
			if err != nil {
				b.Error(err)
				return
			}
			rows.Add(int64(n))
		}
	})
	b.ReportMetric(float64(rows.Load())/time.Since(start).Seconds(), "rows/s")
}

// BenchmarkRawInsert1 is one autocommitted row per statement: what a
// synchronous write per request costs the database.
func BenchmarkRawInsert1(b *testing.B) { benchInsert(b, 1) }

// BenchmarkRawInsert500 is the worker's shape: 500-row INSERT ... ON CONFLICT
// DO NOTHING, one transaction each.
func BenchmarkRawInsert500(b *testing.B) { benchInsert(b, 500) }
