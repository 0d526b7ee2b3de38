package consume

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/numbers-app/numbers/shared/message"
	"github.com/numbers-app/numbers/shared/number"
	"github.com/numbers-app/numbers/worker/persist"
)

// Retry bounds while writes fail: the first wait, and the longest.
const (
	holdRetryMin = 500 * time.Millisecond
	holdRetryMax = 15 * time.Second
	// holdGiveUp is how many retries in a row may fail after the database
	// said it accepts writes, with an error that is not ErrUnavailable,
	// before the held messages are handed back to SQS (so one message that
	// fails for its own reason cannot stall the worker for ever).
	holdGiveUp = 5
)

// holder keeps the messages whose write failed for a dependency reason,
// invisible in SQS, until a write succeeds. While it holds anything the
// consumer does not receive: it closes and opens the gate under its lock.
type holder struct {
	gate     *gate
	mu       sync.Mutex
	msgs     []message.Message
	since    time.Time
	lastErr  error
	wake     chan struct{} // something was added
	finished chan struct{} // no more adds: the flushers are done
}

func newHolder(g *gate) *holder {
	return &holder{gate: g, wake: make(chan struct{}, 1), finished: make(chan struct{})}
}

// pause stops receiving for an outage that err (nil: an earlier one)
// reports, before the messages that failed with it are held: a batch that
// another flusher received meanwhile is held without an error of its own,
// and the status must not show held messages without the reason (a held
// batch showed none while the first one's visibility was being renewed).
func (h *holder) pause(err error, now time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.gate.close()
	if h.since.IsZero() {
		h.since = now
	}
	if err != nil {
		h.lastErr = err
	}
}

func (h *holder) add(msgs []message.Message, err error, now time.Time) {
	h.mu.Lock()
	h.msgs = append(h.msgs, msgs...)
	if len(h.msgs) > 0 {
		h.gate.close()
	}
	if h.since.IsZero() {
		h.since = now
	}
	if err != nil {
		h.lastErr = err
	}
	h.mu.Unlock()
	select {
	case h.wake <- struct{}{}:
	default:
	}
}

// take removes and returns everything held.
func (h *holder) take() []message.Message {
	h.mu.Lock()
	defer h.mu.Unlock()
	msgs := h.msgs
	h.msgs = nil
	return msgs
}

func (h *holder) handles() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]string, len(h.msgs))
	for i, m := range h.msgs {
		out[i] = m.ReceiptHandle
	}
	return out
}

func (h *holder) setErr(err error) {
	h.mu.Lock()
	h.lastErr = err
	h.mu.Unlock()
}

// clear ends an outage when nothing is held, opening the gate; it reports
// whether it did.
func (h *holder) clear() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.msgs) > 0 {
		return false
	}
	h.since, h.lastErr = time.Time{}, nil
	h.gate.open()
	return true
}

func (h *holder) state() (int, time.Time, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.msgs), h.since, h.lastErr
}

func (h *holder) finish() { close(h.finished) }

// maxHeld bounds what the consumer holds. Once receiving stops, nothing new
// arrives but what was already on its way: the flushers' batches, the
// pollers' hand-over channel and their receives in flight.
func (c *Consumer) maxHeld() int {
	return c.cfg.Flushers*c.cfg.FlushSize + 2*c.cfg.Pollers*10
}

// hold stops receiving and keeps msgs, failed with err, invisible until a
// write succeeds. Their visibility is renewed at once: they may have waited
// in a batch. Beyond maxHeld (which only a bug could reach), the excess is
// handed back to SQS.
func (c *Consumer) hold(work context.Context, msgs []message.Message, err error) {
	c.held.pause(err, c.now())
	n, _, _ := c.held.state()
	if room := max(c.maxHeld()-n, 0); len(msgs) > room {
		c.log.Warn().Int("released", len(msgs)-room).Int("held", n).Msg("holding limit reached: handing the rest back to SQS")
		_ = c.release(work, msgs[room:])
		msgs = msgs[:room]
	}
	handles := make([]string, len(msgs))
	for i, m := range msgs {
		handles[i] = m.ReceiptHandle
	}
	c.extend(work, handles)
	c.held.add(msgs, err, c.now())
}

// release makes msgs visible again at once, for another receive.
func (c *Consumer) release(work context.Context, msgs []message.Message) error {
	if len(msgs) == 0 {
		return nil
	}
	handles := make([]string, len(msgs))
	for i, m := range msgs {
		handles[i] = m.ReceiptHandle
	}
	rctx, cancel := context.WithTimeout(work, 10*time.Second)
	defer cancel()
	if err := c.queue.ChangeVisibility(rctx, handles, 0); err != nil {
		c.log.Warn().Err(err).Int("messages", len(msgs)).Msg("hand back failed: they reappear after their visibility timeout")
		return err
	}
	return nil
}

// holdLoop waits out each outage while ctx lives; once ctx ends it hands
// back everything held, and whatever the flushers still hand over, until
// they finish.
func (c *Consumer) holdLoop(ctx, work context.Context) error {
	for {
		select {
		case <-ctx.Done():
			return c.releaseUntilFinished(work)
		case <-c.held.wake:
		}
		c.waitOut(ctx, work)
	}
}

func (c *Consumer) releaseUntilFinished(work context.Context) error {
	var errs []error
	for {
		if msgs := c.held.take(); len(msgs) > 0 {
			c.log.Info().Int("messages", len(msgs)).Msg("shutting down: handing held messages back to SQS")
			if err := c.release(work, msgs); err != nil {
				errs = append(errs, err)
			}
		}
		select {
		case <-c.held.wake:
		case <-c.held.finished:
			if msgs := c.held.take(); len(msgs) > 0 {
				if err := c.release(work, msgs); err != nil {
					errs = append(errs, err)
				}
			}
			if err := errors.Join(errs...); err != nil {
				return fmt.Errorf("%w: %w", ErrStopped, err)
			}
			return nil
		}
	}
}

// waitOut holds what failed until the database accepts writes: it keeps
// the messages invisible, probes with a write-capable check after a backoff
// with jitter, retries them when the probe passes, and resumes receiving
// once nothing is held. It returns early when ctx ends.
func (c *Consumer) waitOut(ctx, work context.Context) {
	n, _, lastErr := c.held.state()
	if n == 0 {
		c.held.clear()
		return
	}
	msg := "writes failing: receiving paused, holding messages until the database accepts writes"
	if errors.Is(lastErr, persist.ErrDeadLetter) {
		// Not the database: say so, an operator looks in another place.
		msg = "the dead-letter queue did not take poison messages: receiving paused, holding them until it does"
	}
	c.log.Warn().Err(lastErr).Int("held", n).Msg(msg)
	b := newBackoff(holdRetryMin, holdRetryMax)
	renew := time.NewTicker(c.cfg.VisibilityTimeout / 3)
	defer renew.Stop()
	retry := time.NewTimer(b.next())
	defer retry.Stop()
	refusedWhileWritable := 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-renew.C:
			c.extend(work, c.held.handles())
			continue
		case <-retry.C:
		}
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := c.db.Writable(pctx)
		cancel()
		if err != nil {
			c.held.setErr(err)
			d := b.next()
			c.log.Debug().Err(err).Dur("retry_in", d).Msg("database not writable yet")
			retry.Reset(d)
			continue
		}
		msgs := c.held.take()
		failed, err := c.process(work, ctx, msgs)
		if len(failed) == 0 {
			if c.held.clear() {
				c.log.Info().Int("stored", len(msgs)).Msg("database accepts writes again: receiving resumed")
				return
			}
			retry.Reset(0) // more arrived meanwhile
			continue
		}
		if ctx.Err() != nil {
			// Shutting down mid-retry: holdLoop hands them back.
			c.held.add(failed, err, c.now())
			return
		}
		if errors.Is(err, number.ErrInvalid) {
			c.log.Error().Err(err).Int("failed", len(failed)).Msg("store refused held messages as invalid: leaving them to SQS")
			failed = nil
		}
		c.held.add(failed, err, c.now())
		if c.held.clear() {
			return
		}
		if !errors.Is(err, number.ErrUnavailable) {
			refusedWhileWritable++
		}
		if refusedWhileWritable >= holdGiveUp {
			c.log.Error().Err(err).Int("messages", len(failed)).
				Msg("writes keep failing although the database accepts writes: handing the messages back to SQS")
			_ = c.release(work, c.held.take())
			c.held.clear()
			return
		}
		retry.Reset(b.next())
	}
}
