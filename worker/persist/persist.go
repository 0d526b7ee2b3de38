// Package persist is the batch-persist core shared by the ECS worker and the
// SQS Lambda: decode a batch of messages, move poison ones to the dead-letter
// queue, store the rest in one idempotent insert, and say which messages are
// done and which failed transiently.
package persist

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/rs/zerolog"

	"github.com/numbers-app/numbers/events"
	"github.com/numbers-app/numbers/shared/message"
	"github.com/numbers-app/numbers/shared/number"
)

// Result says what happened to each message of a batch, by index.
type Result struct {
	// Done are messages the caller may delete: stored (new or duplicate) or
	// moved to the dead-letter queue.
	Done []int
	// Failed are messages that failed transiently: leave them in the queue
	// so they are delivered again.
	Failed []int
	// Stored counts rows that were new; Duplicates those already stored.
	Stored, Duplicates int
	// Poisoned counts messages moved to the dead-letter queue.
	Poisoned int
	// Err is the transient error behind Failed, if any.
	Err error
}

// Observer receives figures for metrics; see shared/metrics.Worker.
type Observer interface {
	ObserveBatch(size, stored, duplicates, poisoned, failed int, took time.Duration)
	// ObserveLag is called for each message of a committed insert with
	// Now() minus the time the proxy accepted it.
	ObserveLag(lag time.Duration)
}

// Persister processes batches. Its fields are required, except Metrics.
type Persister struct {
	Store   number.Writer
	DLQ     DeadLetterer
	Log     zerolog.Logger
	Now     func() time.Time
	Metrics Observer // optional
}

// Process handles one batch. It never returns poison as Failed: those are
// in the dead-letter queue (or, if even that failed, Failed so the queue's
// own redrive policy moves them later).
func (p *Persister) Process(ctx context.Context, msgs []message.Message) Result {
	start := time.Now()
	res := p.process(ctx, msgs)
	if p.Metrics != nil {
		p.Metrics.ObserveBatch(len(msgs), res.Stored, res.Duplicates, res.Poisoned, len(res.Failed), time.Since(start))
	}
	return res
}

func (p *Persister) process(ctx context.Context, msgs []message.Message) Result {
	var res Result
	subs := make([]number.Submission, 0, len(msgs))
	valid := make([]int, 0, len(msgs))
	seen := make(map[string]bool, len(msgs))
	var poison []message.Message
	var poisonIdx []int
	for i, m := range msgs {
		sub, err := events.Decode(m.Body)
		if err != nil {
			var de *events.DecodeError
			reason, detail := "invalid", err.Error()
			if errors.As(err, &de) {
				reason, detail = de.Reason, de.Detail
			}
			p.Log.Warn().Str("message_id", m.ID).Str("request_id", m.Text(events.AttrRequestID)).
				Str("reason", reason).Str("detail", detail).Msg("poison message: moving to the dead-letter queue")
			poison = append(poison, p.deadLetter(m, reason, detail))
			poisonIdx = append(poisonIdx, i)
			continue
		}
		valid = append(valid, i)
		// Several deliveries of one event in a batch store one row; the
		// insert would skip them too, this just keeps the statement small.
		if !seen[sub.ID] {
			seen[sub.ID] = true
			subs = append(subs, sub)
		}
	}

	if len(poison) > 0 {
		done, failed, err := p.sendDeadLetters(ctx, poison, poisonIdx)
		res.Done = append(res.Done, done...)
		res.Failed = append(res.Failed, failed...)
		res.Poisoned += len(done)
		res.Err = err
	}

	if len(subs) > 0 {
		n, err := p.Store.Insert(ctx, subs)
		if err != nil {
			res.Failed = append(res.Failed, valid...)
			res.Err = errors.Join(res.Err, fmt.Errorf("store %d numbers: %w", len(subs), err))
			return res
		}
		res.Stored = n
		res.Duplicates = len(valid) - n
		if p.Metrics != nil {
			now := p.Now()
			for _, sub := range subs {
				p.Metrics.ObserveLag(now.Sub(sub.AcceptedAt))
			}
		}
		res.Done = append(res.Done, valid...)
		if p.Log.GetLevel() <= zerolog.DebugLevel {
			for _, i := range valid {
				p.Log.Debug().Str("message_id", msgs[i].ID).Str("request_id", msgs[i].Text(events.AttrRequestID)).Msg("stored")
			}
		}
	}
	return res
}
