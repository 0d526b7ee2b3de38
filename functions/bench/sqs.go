package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/google/uuid"

	evs "github.com/numbers-app/numbers/events"
	"github.com/numbers-app/numbers/shared/message"
	"github.com/numbers-app/numbers/shared/number"
	"github.com/numbers-app/numbers/shared/sqsqueue"
)

// batchEvent builds an SQS event of n new valid number.submitted records.
func batchEvent(n int) ([]byte, error) {
	var e events.SQSEvent
	for i := 0; i < n; i++ {
		m, err := evs.Encode(number.Submission{ID: uuid.Must(uuid.NewV7()).String(), Value: int64(i), AcceptedAt: time.Now(), RequestID: "bench"})
		if err != nil {
			return nil, err
		}
		attrs := map[string]events.SQSMessageAttribute{}
		for k, v := range m.Attributes {
			attrs[k] = events.SQSMessageAttribute{StringValue: aws.String(v.StringValue), DataType: v.DataType}
		}
		e.Records = append(e.Records, events.SQSMessage{MessageId: uuid.NewString(), Body: m.Body, MessageAttributes: attrs, EventSource: "aws:sqs"})
	}
	return json.Marshal(e)
}

// fill sends n valid messages to q.
func fill(ctx context.Context, q sqsqueue.Queue, n int) error {
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	per := (n + 7) / 8
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for start := g * per; start < min((g+1)*per, n); start += 10 {
				var msgs []message.Message
				for i := start; i < min(start+10, (g+1)*per, n); i++ {
					m, err := evs.Encode(number.Submission{ID: uuid.Must(uuid.NewV7()).String(), Value: int64(i), AcceptedAt: time.Now(), RequestID: "bench"})
					if err != nil {
						errs <- err
						return
					}
					msgs = append(msgs, m)
				}
				if _, err := q.SendBatch(ctx, msgs); err != nil {
					errs <- err
					return
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	return <-errs
}

// sqsPart measures, per run and SQS-side process, the time from process
// start to the first batch stored and the messages persisted per second.
func (b *bench) sqsPart(ctx context.Context, out io.Writer) error {
	// 2. Start to first batch stored, and throughput, SQS side.
	first := map[string]*stats{}
	rate := map[string]*stats{}
	sqsMem := map[string]*stats{}
	sqsNames := []string{"worker", "lambda-sqs-10", "lambda-sqs-100"}
	for run := 0; run < b.o.runs; run++ {
		for _, name := range sqsNames {
			tname := name
			if strings.HasPrefix(name, "lambda-sqs") {
				tname = "lambda-sqs"
			}
			t, err := b.newTarget(ctx, tname)
			if err != nil {
				return err
			}
			if err := b.sqsRun(ctx, t, name, first, rate); err != nil {
				t.stop()
				return err
			}
			w, _ := t.memory()
			get(sqsMem, name).add(float64(w) / (1 << 20))
			t.stop()
		}
	}
	fmt.Fprintf(out, "\n## SQS: process start to first batch of 10 stored; then messages persisted per second by one process (%d messages)\n", b.o.messages)
	fmt.Fprintln(out, "| process | start → first batch stored (ms) | messages/s | peak RSS MiB |")
	fmt.Fprintln(out, "|---|---|---|---|")
	for _, n := range sqsNames {
		fmt.Fprintf(out, "| %s | %.1f [%s] | %.0f [%s] | %.1f |\n", n, first[n].median(), first[n], rate[n].median(), rate[n], sqsMem[n].median())
	}
	return nil
}

// sqsRun measures one SQS-side target: time to store a first batch of 10
// from process start, then b.o.messages more messages.
func (b *bench) sqsRun(ctx context.Context, t *target, name string, first, rate map[string]*stats) error {
	if name == "worker" {
		// The whole backlog is queued before the worker starts, so sending
		// does not compete with it for the local SQS server.
		if err := fill(ctx, t.queue, 10+b.o.messages); err != nil {
			return err
		}
		if err := t.start(); err != nil {
			return err
		}
		if err := waitCount(ctx, t, 10, 30*time.Second); err != nil {
			return err
		}
		get(first, name).add(ms(time.Since(t.started)))
		begin := time.Now()
		if err := waitCount(ctx, t, 10+b.o.messages, 5*time.Minute); err != nil {
			return err
		}
		// The rows stored after the first 10 were counted from here on.
		get(rate, name).add(float64(b.o.messages) / time.Since(begin).Seconds())
		return nil
	}
	size := 10
	if name == "lambda-sqs-100" {
		size = 100
	}
	ev, err := batchEvent(10)
	if err != nil {
		return err
	}
	if err := t.start(); err != nil {
		return err
	}
	d, err := t.untilUp(func() error { _, err := b.invoke(t, ev); return err })
	if err != nil {
		return err
	}
	get(first, name).add(ms(d))
	batches := make([][]byte, 0, b.o.messages/size)
	for i := 0; i < b.o.messages/size; i++ {
		ev, err := batchEvent(size)
		if err != nil {
			return err
		}
		batches = append(batches, ev)
	}
	begin := time.Now()
	for _, ev := range batches {
		body, err := b.invoke(t, ev)
		if err != nil {
			return err
		}
		if !bytes.Equal(body, []byte(`{"batchItemFailures":[]}`)) {
			return fmt.Errorf("partial failure: %s", body)
		}
	}
	get(rate, name).add(float64(len(batches)*size) / time.Since(begin).Seconds())
	n, err := t.store.Count(ctx)
	if err != nil {
		return err
	}
	if n != 10+len(batches)*size {
		return fmt.Errorf("%s stored %d rows, want %d", name, n, 10+len(batches)*size)
	}
	return nil
}

func waitCount(ctx context.Context, t *target, n int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		c, err := t.store.Count(ctx)
		if err == nil && c >= n {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: %d rows after %s, want %d\n%s", t.name, c, timeout, n, t.output())
		}
		select {
		case e := <-t.exited:
			return fmt.Errorf("%s exited: %w\n%s", t.name, e, t.output())
		case <-time.After(2 * time.Millisecond):
		}
	}
}
