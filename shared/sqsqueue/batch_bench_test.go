package sqsqueue_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/numbers-app/numbers/shared/message"
	"github.com/numbers-app/numbers/shared/testenv"
)

// eventSizedBody is about the size of a number.submitted event.
var eventSizedBody = `{"type":"number.submitted","version":1,"id":"019abc6e-8f2a-7c3d-9e1f-2a3b4c5d6e7f","value":%d,"accepted_at":"2026-11-27T08:30:00.123456Z","request_id":"` + strings.Repeat("r", 36) + `"}`

func batchOf10(seq *atomic.Int64) []message.Message {
	msgs := make([]message.Message, 10)
	for i := range msgs {
		msgs[i] = message.Message{Body: fmt.Sprintf(eventSizedBody, seq.Add(1)), Attributes: map[string]message.Attribute{"request_id": message.String("r")}}
	}
	return msgs
}

// BenchmarkRawSendMessageBatch is the local SQS's raw batched send rate:
// 8 goroutines, 10 messages per SendMessageBatch, no product code between.
func BenchmarkRawSendMessageBatch(b *testing.B) {
	qs := testenv.NewQueues(b, 5, 30*time.Second)
	var seq atomic.Int64
	b.SetParallelism(4) // 4 x GOMAXPROCS(2) = 8 goroutines
	start := time.Now()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := qs.Main.SendBatch(context.Background(), batchOf10(&seq)); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(seq.Load())/time.Since(start).Seconds(), "msg/s")
}

// BenchmarkRawReceiveDelete is the local SQS's raw consume rate: receive 10,
// delete those 10 in one batch, 8 goroutines, on a backlog made beforehand.
func BenchmarkRawReceiveDelete(b *testing.B) {
	qs := testenv.NewQueues(b, 5, 30*time.Second)
	var seq atomic.Int64
	for seq.Load() < int64(b.N)*10 {
		if _, err := qs.Main.SendBatch(context.Background(), batchOf10(&seq)); err != nil {
			b.Fatal(err)
		}
	}
	var got atomic.Int64
	b.SetParallelism(4)
	start := time.Now()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			// The SDK directly, with no WaitTimeSeconds: the queue's default
			// wait, 0 on queues Ensure creates, so a receive that finds the
			// backlog gone answers at once instead of long-polling
			// (Queue.Receive waits at least a second: MinWait).
			out, err := qs.Client.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{
				QueueUrl: aws.String(qs.Main.URL), MaxNumberOfMessages: 10, MessageAttributeNames: []string{"All"},
			})
			if err != nil {
				b.Error(err)
				return
			}
			msgs := out.Messages
			handles := make([]string, len(msgs))
			for i, m := range msgs {
				handles[i] = aws.ToString(m.ReceiptHandle)
			}
			if _, err := qs.Main.Delete(context.Background(), handles); err != nil {
				b.Error(err)
				return
			}
			got.Add(int64(len(msgs)))
		}
	})
	b.ReportMetric(float64(got.Load())/time.Since(start).Seconds(), "msg/s")
}
