package consume_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/numbers-app/numbers/events"
	"github.com/numbers-app/numbers/shared/message"
	"github.com/numbers-app/numbers/shared/number"
	"github.com/numbers-app/numbers/shared/testenv"
	"github.com/numbers-app/numbers/worker/consume"
	"github.com/numbers-app/numbers/worker/persist"
)

// countingQueue is the real queue, counting the SQS calls of receives that
// brought messages and of deletes (ten handles per call).
type countingQueue struct {
	consume.Queue
	receives, deletes atomic.Int64
}

func (q *countingQueue) Receive(ctx context.Context, max int, wait time.Duration) ([]message.Message, error) {
	msgs, err := q.Queue.Receive(ctx, max, wait)
	if len(msgs) > 0 {
		q.receives.Add(1)
	}
	return msgs, err
}

func (q *countingQueue) Delete(ctx context.Context, handles []string) ([]string, error) {
	q.deletes.Add(int64((len(handles) + 9) / 10))
	return q.Queue.Delete(ctx, handles)
}

// BenchmarkThinStream reports the SQS calls per message the worker makes on
// a thin stream (about 200 messages/s, one per send), with and without the
// receive pause:
//
//	go test -run '^$' -bench ThinStream -benchtime 1x -count 3 ./worker/consume
func BenchmarkThinStream(b *testing.B) {
	for _, v := range []struct {
		name  string
		pause time.Duration
	}{{"pause=off", -1}, {"pause=50ms", 50 * time.Millisecond}} {
		b.Run(v.name, func(b *testing.B) {
			for b.Loop() {
				store := testenv.Store(b)
				qs := testenv.NewQueues(b, 5, 30*time.Second)
				q := &countingQueue{Queue: qs.Main}
				p := &persist.Persister{Store: store, DLQ: qs.DLQ, Log: testenv.Logger(b), Now: time.Now}
				c, err := consume.New(consume.Config{ReceivePause: v.pause}, q, p, store, testenv.Logger(b))
				if err != nil {
					b.Fatal(err)
				}
				ctx, cancel := context.WithCancel(context.Background())
				done := make(chan error, 1)
				go func() { done <- c.Run(ctx) }()
				const n = 400
				tick := time.NewTicker(5 * time.Millisecond)
				for i := range n {
					<-tick.C
					m, err := encodeB(int64(i))
					if err != nil {
						b.Fatal(err)
					}
					if _, err := qs.Main.SendBatch(ctx, []message.Message{m}); err != nil {
						b.Fatal(err)
					}
				}
				tick.Stop()
				testenv.Eventually(b, 60*time.Second, "all stored", func() bool {
					k, err := store.Count(ctx)
					return err == nil && k == n
				})
				cancel()
				if err := <-done; err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(float64(q.receives.Load())/n, "receives/msg")
				b.ReportMetric(float64(q.deletes.Load())/n, "deletes/msg")
			}
		})
	}
}

func encodeB(v int64) (message.Message, error) {
	return events.Encode(number.Submission{ID: uuid.Must(uuid.NewV7()).String(), Value: v, AcceptedAt: time.Now(), RequestID: "rq"})
}
