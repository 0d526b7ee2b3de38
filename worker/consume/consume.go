// Package consume runs the ECS worker's loop: several long-polling receivers
// feed flushers that coalesce messages into large batches for the persist
// core, then delete what is done. When writes fail for a dependency reason it
// stops receiving and holds what it has (kept invisible) until a write
// succeeds, so no outage, however long, burns messages through
// maxReceiveCount into the dead-letter queue.
package consume

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/numbers-app/numbers/events"
	"github.com/numbers-app/numbers/shared/clock"
	"github.com/numbers-app/numbers/shared/message"
	"github.com/numbers-app/numbers/shared/number"
	"github.com/numbers-app/numbers/shared/sqsqueue"
	"github.com/numbers-app/numbers/worker/persist"
)

// Defaults for Config.
const (
	DefaultPollers           = 2
	DefaultFlushers          = 2
	DefaultFlushSize         = 500
	DefaultFlushInterval     = 50 * time.Millisecond
	DefaultWaitTime          = 20 * time.Second
	DefaultVisibilityTimeout = 30 * time.Second
	DefaultShutdownTimeout   = 15 * time.Second
	DefaultReceivePause      = 100 * time.Millisecond
)

// Config tunes the loop. The env tags are the worker's environment
// variables (worker/service.Config embeds it; README).
type Config struct {
	// Pollers is the number of concurrent ReceiveMessage loops. Defaults to
	// 2: one ReceiveMessage of ten takes a few ms, so two keep up with
	// thousands of messages a second, and fewer pollers leave more to gather
	// for each (docs/benchmarks.md, messages per ReceiveMessage).
	Pollers int `env:"WORKER_POLLERS"`
	// Flushers is the number of batches persisted concurrently. Defaults to 2.
	Flushers int `env:"WORKER_FLUSHERS"`
	// FlushSize is the most events per database batch (an aggregated
	// message counts its events, events.Count): a flusher stops waiting for
	// more once it holds this many, so one batch holds at most FlushSize
	// plus one receive's worth. Defaults to 500.
	FlushSize int `env:"WORKER_FLUSH_SIZE"`
	// FlushInterval is the longest a flusher waits for more messages once it
	// holds some, and it waits only while more are on their way: after a
	// full receive (ten) whose poller receives again at once. After any
	// other it writes at once, since that poller now pauses (see gather).
	// Must be under a third of VisibilityTimeout. One INSERT of many rows
	// costs the worker far less per row than several small ones: with posts
	// arriving in sends of ten (a 10ms linger), a 10ms interval wrote 18
	// rows per INSERT at 1,200/s and the worker's CPU per message rose by a
	// third (docs/benchmarks.md). Defaults to 50ms, half of ReceivePause.
	FlushInterval time.Duration `env:"WORKER_FLUSH_INTERVAL"`
	// WaitTime is the long-poll wait, whole seconds from 1 to 20
	// (sqsqueue.MinWait, MaxWait). Defaults to 20s.
	WaitTime time.Duration `env:"SQS_WAIT_TIME"`
	// VisibilityTimeout is the queue's; batches that take longer than a third
	// of it get their visibility extended. Defaults to 30s.
	VisibilityTimeout time.Duration `env:"SQS_VISIBILITY_TIMEOUT"`
	// ShutdownTimeout bounds finishing in-flight batches after the context is
	// cancelled. Defaults to 15s.
	ShutdownTimeout time.Duration `env:"SHUTDOWN_TIMEOUT"`
	// ReceivePause is how long a poller waits after a receive that brought
	// fewer than ten messages (none, if it ended before its long poll did),
	// or ten that were all sent while it waited, before it receives again
	// (see gather). A long poll returns as soon as one message is there, so
	// without it a thin stream costs a ReceiveMessage (and a delete) per
	// message; with it messages gather in the queue meanwhile, and the cost
	// per message stays flat as the rate falls. It adds at most this much
	// to the time to store.
	// Defaults to 100ms; negative: no pause.
	ReceivePause time.Duration `env:"WORKER_RECEIVE_PAUSE"`
}

// WithDefaults returns c with each zero field set to its Default…
// constant. New calls it.
func (c Config) WithDefaults() Config {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	defd := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	def(&c.Pollers, DefaultPollers)
	def(&c.Flushers, DefaultFlushers)
	def(&c.FlushSize, DefaultFlushSize)
	defd(&c.FlushInterval, DefaultFlushInterval)
	defd(&c.WaitTime, DefaultWaitTime)
	defd(&c.VisibilityTimeout, DefaultVisibilityTimeout)
	defd(&c.ShutdownTimeout, DefaultShutdownTimeout)
	defd(&c.ReceivePause, DefaultReceivePause)
	return c
}

// Validate names the first bad field.
func (c Config) Validate() error {
	switch {
	case c.Pollers < 1:
		return errors.New("consume: Pollers must be at least 1")
	case c.Flushers < 1:
		return errors.New("consume: Flushers must be at least 1")
	case c.FlushSize < 1:
		return errors.New("consume: FlushSize must be at least 1")
	case sqsqueue.CheckWait(c.WaitTime) != nil:
		// Refused at start rather than failing every receive, or being
		// truncated to a wait nobody asked for.
		return fmt.Errorf("consume: SQS_WAIT_TIME: %w", sqsqueue.CheckWait(c.WaitTime))
	case c.VisibilityTimeout < 3*time.Second:
		return errors.New("consume: VisibilityTimeout must be at least 3s")
	case c.FlushInterval >= c.VisibilityTimeout/3:
		// A flusher's batch is kept invisible only once it is written;
		// while it fills, SQS would hand its messages out again, and its
		// redrive policy could move stored ones to the DLQ.
		return fmt.Errorf("consume: WORKER_FLUSH_INTERVAL (%v) must be under a third of SQS_VISIBILITY_TIMEOUT (%v)", c.FlushInterval, c.VisibilityTimeout)
	}
	return nil
}

// Queue is what the consumer needs from SQS.
type Queue interface {
	Receive(ctx context.Context, max int, wait time.Duration) ([]message.Message, error)
	Delete(ctx context.Context, handles []string) ([]string, error)
	ChangeVisibility(ctx context.Context, handles []string, d time.Duration) error
}

// Processor is the batch-persist core.
type Processor interface {
	Process(ctx context.Context, msgs []message.Message) persist.Result
}

// Prober tells whether the database would accept a write now
// (pgstore.Store.Writable): a ping is not enough, a read-only server
// answers pings.
type Prober interface {
	Writable(ctx context.Context) error
}

// Consumer is the worker loop.
type Consumer struct {
	cfg   Config
	queue Queue
	proc  Processor
	db    Prober
	log   zerolog.Logger
	gate  *gate
	held  *holder
	now   func() time.Time
}

// New builds a consumer.
func New(cfg Config, q Queue, proc Processor, db Prober, log zerolog.Logger) (*Consumer, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	g := newGate()
	return &Consumer{cfg: cfg, queue: q, proc: proc, db: db, log: log, gate: g, held: newHolder(g), now: time.Now}, nil
}

// Healthy reports whether the consumer is receiving: false while it waits
// for the database to accept writes again.
func (c *Consumer) Healthy() bool { return c.gate.isOpen() }

// Status is the consumer's state, for /healthz.
type Status struct {
	// Receiving is false while writes fail for a dependency reason.
	Receiving bool `json:"receiving"`
	// Held is how many messages it holds (kept invisible) until a write
	// succeeds.
	Held int `json:"held"`
	// HoldingSince is when the current outage began (zero: none).
	HoldingSince time.Time `json:"holding_since,omitzero"`
	// LastError is the last write or probe failure of the current outage.
	LastError string `json:"last_error,omitempty"`
}

// Status reports the consumer's state.
func (c *Consumer) Status() Status {
	n, since, err := c.held.state()
	st := Status{Receiving: c.gate.isOpen(), Held: n, HoldingSince: since}
	if err != nil {
		st.LastError = err.Error()
	}
	return st
}

// ErrStopped is wrapped by Run's error when messages could not be handed
// back at shutdown (they come back after their visibility timeout).
var ErrStopped = errors.New("consumer stopped with messages not handed back")

// Run receives and persists until ctx is cancelled, then stops receiving,
// finishes within ShutdownTimeout what it can, hands back at once what it
// holds (visibility 0) and returns. The error is non-nil only when some
// messages could not be handed back (they reappear after their visibility
// timeout, so nothing is lost).
func (c *Consumer) Run(ctx context.Context) error {
	in := make(chan received, c.cfg.Pollers)
	var pollers, flushers sync.WaitGroup
	// Flushers and the holder outlive ctx: they drain what the pollers
	// handed over, and give back what cannot be finished.
	work := context.WithoutCancel(ctx)
	holding := make(chan error, 1)
	go func() { holding <- c.holdLoop(ctx, work) }()
	for range c.cfg.Pollers {
		pollers.Add(1)
		go func() {
			defer pollers.Done()
			c.poll(ctx, in)
		}()
	}
	for range c.cfg.Flushers {
		flushers.Add(1)
		go func() {
			defer flushers.Done()
			c.flushLoop(ctx, work, in)
		}()
	}
	pollers.Wait()
	close(in)
	flushers.Wait()
	c.held.finish()
	return <-holding
}

// receiveMax is the most messages one ReceiveMessage returns (SQS's limit).
const receiveMax = 10

// received is what a poller hands to the flushers: one receive's messages,
// and whether more are on their way (the receive was full, so the poller
// receives again at once instead of pausing).
type received struct {
	msgs []message.Message
	more bool
}

func (c *Consumer) poll(ctx context.Context, in chan<- received) {
	b := newBackoff(100*time.Millisecond, 5*time.Second)
	for {
		if err := c.gate.wait(ctx); err != nil {
			return
		}
		// A bound above the long poll: a connection that hangs without an
		// error must not stall this poller for ever.
		rctx, cancel := context.WithTimeout(ctx, c.cfg.WaitTime+10*time.Second)
		began := time.Now()
		msgs, err := c.queue.Receive(rctx, receiveMax, c.cfg.WaitTime)
		took := time.Since(began)
		cancel()
		if ctx.Err() != nil {
			// Messages SQS handed out to an aborted receive become visible
			// again after the visibility timeout: nothing is lost.
			return
		}
		if err != nil {
			d := b.next()
			c.log.Warn().Err(err).Dur("retry_in", d).Msg("receive failed")
			if clock.Sleep(ctx, d) != nil {
				return
			}
			continue
		}
		b.reset()
		pause := c.gather(len(msgs), took, sentDuring(msgs, began, began.Add(took)))
		if len(msgs) > 0 {
			// More is on its way only if this poller receives again at once.
			in <- received{msgs: msgs, more: len(msgs) >= receiveMax && !pause}
		}
		if pause {
			if clock.Sleep(ctx, c.cfg.ReceivePause) != nil {
				return
			}
		}
	}
}

// gather says whether a poller pauses for ReceivePause after a receive of
// n messages that took took, so that messages gather in the queue:
//   - after a receive of fewer than ten;
//   - after a full one whose messages were all sent while it waited
//     (fresh): the queue was empty when it asked, so the poller is
//     following the stream, not draining a backlog. Proxies send batches of
//     ten (the Publisher's linger), and a poller that took each as it came
//     never paused: at 1,200/s it woke per batch, and wrote 18-44 rows per
//     INSERT instead of 60 (docs/benchmarks.md);
//   - after an empty one that ended before its long poll did: what a local
//     SQS gives the pollers it woke for a message another one took; without
//     the pause each is one more ReceiveMessage, billed, in a tight loop.
//
// An empty receive that waited out its long poll says the queue is idle:
// the next long poll costs nothing until a message comes, so it starts at
// once. A full receive of messages sent before it began is a backlog: the
// next receive starts at once.
func (c *Consumer) gather(n int, took time.Duration, fresh bool) bool {
	if c.cfg.ReceivePause <= 0 {
		return false
	}
	if n >= receiveMax {
		return fresh
	}
	return n > 0 || took < c.cfg.WaitTime
}

// sentDuring says whether every one of msgs was sent while the receive
// waited, from began to returned, by SentTimestamp (milliseconds, SQS's
// clock). A message without a sent time says no. So does one sent after
// the receive returned: SQS's clock is ahead of the worker's, and read by
// it a backlog would look fresh and the poller would pause after each
// receive of it; with the check, a skew of d makes a backlog receive look
// fresh only if all ten were sent within one receive's duration of each
// other, d ago. A worker clock ahead of SQS's makes fewer receives fresh,
// so the poller pauses less. Neither loses or stalls anything.
func sentDuring(msgs []message.Message, began, returned time.Time) bool {
	if len(msgs) == 0 {
		return false
	}
	from := began.Truncate(time.Millisecond)
	for _, m := range msgs {
		if m.SentAt.IsZero() || m.SentAt.Before(from) || m.SentAt.After(returned) {
			return false
		}
	}
	return true
}

// flushLoop coalesces received messages into batches of up to FlushSize:
// it waits for more, up to FlushInterval, only while the last receive was
// full (more are on their way); otherwise it writes what it has at once.
func (c *Consumer) flushLoop(ctx, work context.Context, in <-chan received) {
	deadline := time.NewTimer(time.Hour)
	deadline.Stop()
	for {
		first, ok := <-in
		if !ok {
			return
		}
		batch := append([]message.Message(nil), first.msgs...)
		n := eventsIn(first.msgs)
		more := first.more
		if more {
			deadline.Reset(c.cfg.FlushInterval)
		}
	fill:
		for more && n < c.cfg.FlushSize {
			select {
			case r, ok := <-in:
				if !ok {
					break fill
				}
				batch = append(batch, r.msgs...)
				n += eventsIn(r.msgs)
				more = r.more
			case <-deadline.C:
				break fill
			}
		}
		deadline.Stop()
		c.flush(ctx, work, batch)
	}
}

// eventsIn counts the events msgs carry (events.Count).
func eventsIn(msgs []message.Message) int {
	n := 0
	for _, m := range msgs {
		n += events.Count(m)
	}
	return n
}

func (c *Consumer) flush(ctx, work context.Context, batch []message.Message) {
	if !c.gate.isOpen() {
		// Writes are failing: received before the pause took effect. Do
		// not knock on the database again; hold them with the rest.
		c.hold(work, batch, nil)
		return
	}
	// After shutdown starts, finishing is bounded; before, the batch may take
	// as long as the database needs, with its visibility kept extended.
	pctx := work
	if ctx.Err() != nil {
		var cancel context.CancelFunc
		pctx, cancel = context.WithTimeout(work, c.cfg.ShutdownTimeout)
		defer cancel()
	}
	failed, err := c.process(work, pctx, batch)
	if len(failed) == 0 {
		return
	}
	if errors.Is(err, number.ErrInvalid) {
		// Not a dependency failure but a bug (the store refused data that
		// decoded as valid): leave them to come back after the visibility
		// timeout, and the redrive policy to take them if it persists.
		c.log.Error().Err(err).Int("failed", len(failed)).Msg("store refused a batch as invalid")
		return
	}
	c.hold(work, failed, err)
}

// process persists batch with its visibility kept extended, deletes what is
// done and returns the messages that failed with the error behind them.
func (c *Consumer) process(work, pctx context.Context, batch []message.Message) ([]message.Message, error) {
	handles := make([]string, len(batch))
	for i, m := range batch {
		handles[i] = m.ReceiptHandle
	}
	stopExtend := c.keepInvisible(work, handles)
	start := time.Now()
	res := c.proc.Process(pctx, batch)
	stopExtend()

	done := make([]string, len(res.Done))
	for i, idx := range res.Done {
		done[i] = handles[idx]
	}
	if len(done) > 0 {
		dctx, cancel := context.WithTimeout(work, 10*time.Second)
		if failed, err := c.queue.Delete(dctx, done); err != nil {
			// Not deleted means delivered again: the insert is idempotent,
			// so this costs work, not correctness.
			c.log.Warn().Err(err).Int("not_deleted", len(failed)).Msg("delete failed")
		}
		cancel()
	}
	ev := c.log.Debug()
	if res.Err != nil {
		ev = c.log.Warn().Err(res.Err)
	}
	ev.Int("batch", len(batch)).Int("stored", res.Stored).Int("duplicates", res.Duplicates).
		Int("poisoned", res.Poisoned).Int("failed", len(res.Failed)).Dur("took", time.Since(start)).Msg("batch processed")

	failed := make([]message.Message, len(res.Failed))
	for i, idx := range res.Failed {
		failed[i] = batch[idx]
	}
	return failed, res.Err
}

// keepInvisible extends the visibility of handles every third of the
// visibility timeout until the returned func is called.
func (c *Consumer) keepInvisible(ctx context.Context, handles []string) func() {
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(c.cfg.VisibilityTimeout / 3)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				c.extend(ctx, handles)
			}
		}
	}()
	return func() { close(stop); <-done }
}

// extend sets the visibility of handles to the visibility timeout, from now.
func (c *Consumer) extend(ctx context.Context, handles []string) {
	if len(handles) == 0 {
		return
	}
	vctx, cancel := context.WithTimeout(ctx, c.cfg.VisibilityTimeout/3)
	err := c.queue.ChangeVisibility(vctx, handles, c.cfg.VisibilityTimeout)
	cancel()
	if err != nil {
		c.log.Warn().Err(err).Int("messages", len(handles)).Msg("extend visibility failed")
	}
}
