// Package persist is the batch-persist core shared by the ECS worker and the
// SQS Lambda: decode a batch of messages, move poison ones to the dead-letter
// queue, store the rest in one idempotent insert, and say which messages are
// done and which failed transiently.
package persist

import (
	"context"
	"encoding/json"
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
	// Poisoned counts dead letters sent: poison messages, and poison events
	// of aggregates (each goes alone).
	Poisoned int
	// Events counts the events of the batch's messages (an aggregate
	// carries several), poison ones included.
	Events int
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
// own redrive policy moves them later). An aggregate is Done when all of
// it is (valid events stored, poison ones in the dead-letter queue), else
// Failed whole; its poison events are dead-lettered only once its valid
// ones are stored, so that its retry does not send them again.
func (p *Persister) Process(ctx context.Context, msgs []message.Message) Result {
	start := time.Now()
	res := p.process(ctx, msgs)
	if p.Metrics != nil {
		// Every outcome counts events: a failed aggregate leaves all of its
		// events for redelivery.
		failed := 0
		for _, i := range res.Failed {
			failed += events.Count(msgs[i])
		}
		p.Metrics.ObserveBatch(res.Events, res.Stored, res.Duplicates, res.Poisoned, failed, time.Since(start))
	}
	return res
}

func (p *Persister) process(ctx context.Context, msgs []message.Message) Result {
	var res Result
	failed := make([]bool, len(msgs))
	subs := make([]number.Submission, 0, len(msgs))
	var valid []int // messages with at least one event to store
	nValid := 0     // events to store, duplicates included
	seen := make(map[string]bool, len(msgs))
	// letters are the poison found: a whole message, or one event of an
	// aggregate.
	var letters []letter
	for i, m := range msgs {
		items, err := events.DecodeMessage(m.Body)
		res.Events += max(len(items), 1)
		if err != nil {
			letters = append(letters, letter{of: i, m: m, body: m, err: err})
			continue
		}
		toStore := false
		for _, it := range items {
			if it.Err != nil {
				body := m
				if len(items) > 1 {
					body = eventOf(m, it.Body)
				}
				letters = append(letters, letter{of: i, m: m, body: body, err: it.Err})
				continue
			}
			toStore = true
			nValid++
			// Several deliveries of one event in a batch store one row; the
			// insert would skip them too, this just keeps the statement small.
			if !seen[it.Submission.ID] {
				seen[it.Submission.ID] = true
				subs = append(subs, it.Submission)
			}
		}
		if toStore {
			valid = append(valid, i)
		}
	}

	hasGood := make([]bool, len(msgs))
	for _, i := range valid {
		hasGood[i] = true
	}
	// A poison message (or an aggregate with nothing good in it) goes to
	// the DLQ first: it is done whatever the database does, even if the
	// insert hangs until ctx ends.
	p.moveLetters(ctx, letters, func(l letter) bool { return !hasGood[l.of] }, failed, &res)

	if len(subs) > 0 {
		n, err := p.Store.Insert(ctx, subs)
		if err != nil {
			for _, i := range valid {
				failed[i] = true
			}
			res.Err = errors.Join(res.Err, fmt.Errorf("store %d numbers: %w", len(subs), err))
		} else {
			res.Stored = n
			res.Duplicates = nValid - n
			if p.Metrics != nil {
				now := p.Now()
				for _, sub := range subs {
					p.Metrics.ObserveLag(now.Sub(sub.AcceptedAt))
				}
			}
			if p.Log.GetLevel() <= zerolog.DebugLevel {
				for _, sub := range subs {
					p.Log.Debug().Str("id", sub.ID).Str("request_id", sub.RequestID).Msg("stored")
				}
			}
		}
	}

	// A poison event of an aggregate with good events waits for them to be
	// stored: the aggregate comes back whole until they are, and
	// dead-lettering its poison event on every try would leave a copy in
	// the DLQ each time.
	p.moveLetters(ctx, letters, func(l letter) bool { return hasGood[l.of] && !failed[l.of] }, failed, &res)
	for i := range msgs {
		if failed[i] {
			res.Failed = append(res.Failed, i)
		} else {
			res.Done = append(res.Done, i)
		}
	}
	return res
}

// moveLetters sends the dead letters of the letters pick chooses, marks
// the messages whose letters the DLQ did not take as failed and adds to
// res what was moved and why not.
func (p *Persister) moveLetters(ctx context.Context, letters []letter, pick func(letter) bool, failed []bool, res *Result) {
	var send []message.Message
	var sendOf []int
	for _, l := range letters {
		if pick(l) {
			send, sendOf = append(send, p.poison(l)), append(sendOf, l.of)
		}
	}
	if len(send) == 0 {
		return
	}
	moved, notMoved, err := p.sendDeadLetters(ctx, send, sendOf)
	for _, i := range notMoved {
		failed[i] = true
	}
	res.Poisoned += moved
	res.Err = errors.Join(res.Err, err)
}

// letter is poison found in message of of a batch: m itself (body is m),
// or one event of the aggregate m (body is that event as a message of its
// own), and why.
type letter struct {
	of      int
	m, body message.Message
	err     error
}

// poison logs why l is poison and returns its dead letter.
func (p *Persister) poison(l letter) message.Message {
	var de *events.DecodeError
	reason, detail := "invalid", l.err.Error()
	if errors.As(l.err, &de) {
		reason, detail = de.Reason, de.Detail
	}
	p.Log.Warn().Str("message_id", l.m.ID).Str("request_id", l.body.Text(events.AttrRequestID)).
		Str("reason", reason).Str("detail", detail).Msg("poison message: moving to the dead-letter queue")
	return p.deadLetter(l.body, reason, detail)
}

// eventOf is one event of the aggregate m as a message of its own, so a
// poison event goes to the dead-letter queue alone, with its own reason,
// and a replay sends only it: m's id and attributes (its replay count
// among them) but not its event count, and the event's request_id, when
// its body has one, as the attribute a single event carries (so log lines
// and `worker dlq` filters find it by request id).
func eventOf(m message.Message, body string) message.Message {
	attrs := make(map[string]message.Attribute, len(m.Attributes)+1)
	for k, a := range m.Attributes {
		if k != events.AttrEventCount {
			attrs[k] = a
		}
	}
	var ev struct {
		RequestID string `json:"request_id"`
	}
	if json.Unmarshal([]byte(body), &ev) == nil && ev.RequestID != "" && message.CheckText(ev.RequestID) == nil {
		attrs[events.AttrRequestID] = message.String(ev.RequestID)
	}
	return message.Message{ID: m.ID, Body: body, Attributes: attrs}
}
