package sqsqueue

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/rs/zerolog"

	"github.com/numbers-app/numbers/shared/message"
	"github.com/numbers-app/numbers/shared/number"
)

// SendBatchAPI is the part of the SQS client a Publisher uses. A call must
// return by its ctx's deadline, as the SDK's client does: that deadline is
// what bounds a Send (PublisherConfig.SendTimeout).
type SendBatchAPI interface {
	SendMessageBatch(ctx context.Context, in *sqs.SendMessageBatchInput, optFns ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error)
}

// Defaults for PublisherConfig.
const (
	DefaultMaxBatch    = 10 // SQS's limit per SendMessageBatch
	DefaultLinger      = 20 * time.Millisecond
	DefaultBusyRate    = 1000 // messages per second
	DefaultMaxInFlight = 16
	DefaultMaxPending  = 1024
	DefaultSendTimeout = 5 * time.Second
	DefaultMaxWait     = 250 * time.Millisecond
	// DefaultMaxAggregate is the most Sends one aggregated message carries:
	// about 25 KiB of events, what 10,000 posts a second bring in 10ms,
	// and within one 64 KiB billing unit.
	DefaultMaxAggregate = 100
	// AggregateBytes bounds an aggregated message: SQS bills each 64 KiB of
	// a request as one request, so a larger one saves calls but not money,
	// and a redelivery or a dead letter moves less at once.
	AggregateBytes = 64 << 10
)

// PublisherConfig configures a Publisher.
type PublisherConfig struct {
	// QueueURL is the queue to send to. Required.
	QueueURL string
	// MaxBatch is the most messages per SendMessageBatch. Defaults to 10.
	MaxBatch int
	// Linger is how long a batch waits for more messages before it is sent.
	// A batch lingers only under concurrency: while another send is in
	// flight, or while messages that have been seen to overlap arrive
	// faster than BusyRate. Otherwise (a lone user, or one client that
	// waits for each answer, however fast) a message goes at once. A batch
	// that fills up (MaxBatch, or MaxAggregate when aggregating, or the
	// bytes of a request or an aggregate) goes without waiting out the
	// linger.
	// Defaults to 20ms. The SDK's cost is per call (its middleware,
	// signing, the HTTP round trip), so the proxy's CPU per write falls with
	// the events a call carries, and at 1,200 posts a second a linger fills
	// a call with about the rate times the linger. With 10ms that was 12.8
	// events a call at 1,200/s and the send path 17% of the proxy's CPU
	// profile; with 20ms, 23 events and 9% (docs/benchmarks.md). A
	// concurrent post waits up to the linger more; a lone one not at all.
	// AWS's own buffered SQS client for Java holds a batch open for up to
	// 200ms (QueueBufferConfig.MAX_BATCH_OPEN_MS_DEFAULT).
	// Must not be negative.
	Linger time.Duration
	// BusyRate, in messages per second, is the arrival rate (a moving
	// average of the gaps between Sends) from which a message that finds no
	// send in flight still lingers for company, once messages have been
	// seen to overlap (see company): at that rate the next
	// message is expected within 1/BusyRate, so waiting up to Linger turns
	// one SendMessageBatch per message into one per several. Locally an SQS
	// call takes less than the gap between posts even at 1,200/s, so
	// without it nearly every post paid a whole call (docs/benchmarks.md).
	// Defaults to 1,000/s, a message a millisecond: with a call of about a
	// millisecond that is where posts begin to overlap (Little's law), and
	// below it lingering only adds latency (at 800/s, in make bench runs of
	// one afternoon, the accept p99 was 4.4-5.6 ms with a 2ms linger and
	// 2.3-3.1 ms without). On AWS a call takes several ms,
	// so the in-flight rule fills batches from far lower rates anyway. At
	// least 1; a huge rate (1e9) turns the rule off.
	BusyRate float64
	// MaxInFlight bounds concurrent SendMessageBatch calls. Defaults to 16.
	MaxInFlight int
	// MaxPending bounds messages waiting for a batch. Past it, Send fails at
	// once with number.ErrOverloaded instead of growing memory. Defaults to 1024.
	MaxPending int
	// SendTimeout bounds the wait of every Send, from the moment it is
	// called to SQS's answer, retries included: a batch's call has until
	// its oldest message's Send plus SendTimeout, so a batch that waited
	// for a free sender (each busy with a call to an SQS that hangs) gets
	// only what is left, and one with nothing left fails with
	// number.ErrUnavailable without a call. A caller therefore needs no
	// deadline of its own: the proxy sets none on a write without an
	// Idempotency-Key (httpapi.Deps.Timeout). Defaults to 5s.
	SendTimeout time.Duration
	// MaxWait is admission control: Send refuses at once with
	// number.ErrOverloaded when the wait it would see, estimated from the
	// observed duration of recent sends and the messages already waiting,
	// exceeds it. A late answer helps nobody: the client is told to retry at
	// once instead of queueing. Defaults to 250ms; negative turns it off.
	MaxWait time.Duration
	// Aggregate, when set, combines a batch of Sends into one message
	// (events.Aggregate), so a call carries up to MaxAggregate of them, and
	// up to AggregateBytes, instead of MaxBatch: the SQS calls per write, on
	// this side and the consumer's, fall by that factor. A batch of one goes
	// as it is. Every Send of an aggregate is answered with its one result.
	// nil: one message per Send, MaxBatch per SendMessageBatch.
	Aggregate func([]message.Message) message.Message
	// MaxAggregate is the most Sends per aggregated message, from 2 to
	// 1,000. Defaults to 100 (DefaultMaxAggregate).
	MaxAggregate int
}

// WithDefaults returns c with each zero field set to its Default…
// constant. NewPublisher calls it.
func (c PublisherConfig) WithDefaults() PublisherConfig {
	c.MaxBatch = cmp.Or(c.MaxBatch, DefaultMaxBatch)
	c.Linger = cmp.Or(c.Linger, DefaultLinger)
	c.BusyRate = cmp.Or(c.BusyRate, DefaultBusyRate)
	c.MaxInFlight = cmp.Or(c.MaxInFlight, DefaultMaxInFlight)
	c.MaxPending = cmp.Or(c.MaxPending, DefaultMaxPending)
	c.SendTimeout = cmp.Or(c.SendTimeout, DefaultSendTimeout)
	c.MaxWait = cmp.Or(c.MaxWait, DefaultMaxWait)
	c.MaxAggregate = cmp.Or(c.MaxAggregate, DefaultMaxAggregate)
	return c
}

// Validate names the first bad field.
func (c PublisherConfig) Validate() error {
	switch {
	case c.QueueURL == "":
		return errors.New("sqsqueue: QueueURL is required")
	case c.MaxBatch < 1 || c.MaxBatch > 10:
		return errors.New("sqsqueue: MaxBatch must be 1..10")
	case c.MaxInFlight < 1:
		return errors.New("sqsqueue: MaxInFlight must be at least 1")
	case c.MaxPending < 1:
		return errors.New("sqsqueue: MaxPending must be at least 1")
	case !(c.BusyRate >= 1) || math.IsInf(c.BusyRate, 1):
		// Below 1/s every gap (capped at a second) would read busy.
		return fmt.Errorf("sqsqueue: BusyRate must be a finite rate of at least 1 a second, got %v", c.BusyRate)
	case c.Linger < 0:
		return fmt.Errorf("sqsqueue: Linger must not be negative, got %v", c.Linger)
	case c.MaxAggregate < 2 || c.MaxAggregate > 1000:
		return fmt.Errorf("sqsqueue: MaxAggregate must be 2..1000, got %d", c.MaxAggregate)
	}
	return nil
}

// Publisher coalesces concurrent Sends into SendMessageBatch calls. Send
// returns nil only once SQS has acknowledged that very message.
type Publisher struct {
	api  SendBatchAPI
	cfg  PublisherConfig
	log  zerolog.Logger
	reqs chan *pending
	// queued and queuedBytes count the messages in reqs and their bytes.
	// While a batch lingers the loop does not receive from reqs, so a Send
	// does not wake it (a wake-up per post, and the idle thread it woke,
	// were the proxy's futex calls); a Send that brings queued to room, or
	// queuedBytes past roomBytes (what the lingering batch lacks to be
	// full), signals full instead.
	queued, queuedBytes atomic.Int64
	room, roomBytes     atomic.Int64
	full                chan struct{}
	sem                 chan struct{}
	// batches carries each batch to one of MaxInFlight long-lived senders.
	// A goroutine per batch would grow a fresh stack through the SDK's deep
	// middleware chain on every call (runtime.copystack was 8% of the
	// proxy's CPU in the profile of docs/benchmarks.md).
	batches chan []*pending

	mu     sync.RWMutex
	closed bool
	done   chan struct{}

	// waiting counts messages taken by Send and not yet answered; callNanos
	// is a moving average of one SendMessageBatch call's duration (0: none
	// observed yet). Together they estimate a new message's wait.
	waiting   atomic.Int64
	callNanos atomic.Int64
	// sending counts messages handed to a sender and not yet answered
	// (decremented before the answers go out, so a caller that sends again
	// as soon as it is answered does not find its own message here).
	sending atomic.Int64
}

type pending struct {
	msg  message.Message
	size int
	done chan error
	at   time.Time // when Send took it: the loop may see it later
}

// estimatedWait is the wait a message sent now would see: the calls ahead
// of it (the messages waiting, MaxBatch per call, MaxInFlight calls at a
// time) and its own, each lasting as long as recent calls did.
func (p *Publisher) estimatedWait() time.Duration {
	call := p.callNanos.Load()
	perWave := int64(p.perCall() * p.cfg.MaxInFlight)
	waves := p.waiting.Load()/perWave + 1
	return time.Duration(waves * call)
}

// perCall is the most Sends one call carries, and maxBytes the most bytes
// of their messages (as Message.Size counts them). An aggregate is at most
// their sum plus a byte an event (the commas and brackets; events with
// attributes shed them), far under SQS's limit of message.MaxRequestBytes.
func (p *Publisher) perCall() int {
	if p.cfg.Aggregate != nil {
		return p.cfg.MaxAggregate
	}
	return p.cfg.MaxBatch
}

func (p *Publisher) maxBytes() int {
	if p.cfg.Aggregate != nil {
		return AggregateBytes
	}
	return message.MaxRequestBytes
}

// observe folds the duration of one call into the moving average (weight
// 1/8 to the new call).
func (p *Publisher) observe(d time.Duration) {
	for {
		old := p.callNanos.Load()
		next := int64(d)
		if old != 0 {
			next = old + (int64(d)-old)/8
		}
		if p.callNanos.CompareAndSwap(old, next) {
			return
		}
	}
}

// NewPublisher starts a publisher; Close stops it.
func NewPublisher(api SendBatchAPI, cfg PublisherConfig, log zerolog.Logger) (*Publisher, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	p := &Publisher{
		api:  api,
		cfg:  cfg,
		log:  log,
		reqs: make(chan *pending, cfg.MaxPending),
		full: make(chan struct{}, 1),
		sem:  make(chan struct{}, cfg.MaxInFlight),
		done: make(chan struct{}),

		batches: make(chan []*pending),
	}
	go p.loop()
	return p, nil
}

// Send sends m in a batch with concurrent Sends and returns once SQS has
// acknowledged it. Its error wraps number.ErrUnavailable (SQS down,
// throttling, a failed or unreported entry, shutting down),
// number.ErrOverloaded (too many pending) or message.ErrRefused (SQS
// refuses this message's content; checked before it is queued).
//
// It returns within about SendTimeout, or by ctx's deadline when that is
// earlier. Once the message is taken, cancelling ctx does not end the
// wait (unless ctx has such an earlier deadline): the message may be in a
// call already, and only SQS's answer says whether it was sent. (A Linger
// longer than SendTimeout, which the proxy's configuration refuses, would
// stretch the wait to the linger.)
func (p *Publisher) Send(ctx context.Context, m message.Message) error {
	m = sent(m)
	size, err := m.CheckedSize()
	if err != nil {
		return fmt.Errorf("send message: %w", err)
	}
	// Admission: with no call in flight there is nothing to wait behind, so
	// a lone message always goes (and a slow queue keeps being observed).
	if p.cfg.MaxWait > 0 && len(p.sem) > 0 {
		if est := p.estimatedWait(); est > p.cfg.MaxWait {
			return fmt.Errorf("%w: the queue would answer in about %v (bound %v)", number.ErrOverloaded,
				est.Round(time.Millisecond), p.cfg.MaxWait)
		}
	}
	pd := &pending{msg: m, size: size, done: make(chan error, 1), at: time.Now()}
	p.mu.RLock()
	if p.closed {
		p.mu.RUnlock()
		return fmt.Errorf("%w: publisher is shutting down", number.ErrUnavailable)
	}
	select {
	case p.reqs <- pd:
		p.waiting.Add(1)
		n, b := p.queued.Add(1), p.queuedBytes.Add(int64(pd.size))
		if n >= p.room.Load() || b > p.roomBytes.Load() {
			p.signalFull()
		}
		p.mu.RUnlock()
	default:
		p.mu.RUnlock()
		return fmt.Errorf("%w: %d messages already wait for the queue", number.ErrOverloaded, p.cfg.MaxPending)
	}
	// Only a deadline before the batch's own bound (its oldest Send plus
	// SendTimeout) needs ctx watched: a select on ctx.Done for every post,
	// and the channel a request context makes on its first Done, were 4% of
	// the proxy's CPU (docs/benchmarks.md).
	if d, ok := ctx.Deadline(); ok && d.Before(pd.at.Add(p.cfg.SendTimeout)) {
		select {
		case err := <-pd.done:
			return err
		case <-ctx.Done():
			// The message may still be sent; the caller just stops waiting
			// and does not promise anything (no 202). The worker stores it
			// anyway, which is harmless: the id is new and unique.
			return fmt.Errorf("wait for queue ack: %w", ctx.Err())
		}
	}
	return <-pd.done
}

// Close stops accepting messages, sends what is pending and waits for the
// calls in flight. Safe to call more than once.
func (p *Publisher) Close() {
	p.mu.Lock()
	if !p.closed {
		p.closed = true
		close(p.reqs)
		p.signalFull() // a lingering loop is not receiving from reqs
	}
	p.mu.Unlock()
	<-p.done
}

func (p *Publisher) signalFull() {
	select {
	case p.full <- struct{}{}:
	default:
	}
}

func (p *Publisher) loop() {
	defer close(p.done)
	// freed says a send finished: a batch that lingered only because a
	// send was in flight goes as soon as none is.
	freed := make(chan struct{}, 1)
	var senders sync.WaitGroup
	for range p.cfg.MaxInFlight {
		senders.Go(func() {
			for b := range p.batches {
				errs := p.send(b)
				// The slot is free before the callers hear back: a caller
				// that sends again at once must find no call in flight, or
				// admission control would refuse a lone user behind its own
				// finished call.
				<-p.sem
				select {
				case freed <- struct{}{}:
				default:
				}
				p.answer(b, errs)
			}
		})
	}
	defer senders.Wait()
	defer close(p.batches)

	busy := company{busyGap: time.Duration(float64(time.Second) / p.cfg.BusyRate), maxGap: time.Second}
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	var linger <-chan time.Time
	perCall, maxBytes := p.perCall(), p.maxBytes()
	batch := make([]*pending, 0, perCall)
	size := 0 // bytes in batch, as SQS counts them
	flush := func() {
		if len(batch) == 0 {
			return
		}
		// Blocking here when MaxInFlight calls are out is the back-pressure:
		// reqs fills up and Send sheds load with ErrOverloaded. A free slot
		// means a sender is free (or about to be), so the hand-over is quick.
		p.sem <- struct{}{}
		p.sending.Add(int64(len(batch)))
		p.batches <- batch
		batch = make([]*pending, 0, perCall)
		size = 0
		timer.Stop()
		linger = nil
	}
	// take adds one message to the batch: a full batch goes (in number, or
	// in bytes: an aggregated event past AggregateBytes fills one alone, and
	// a batch that lingered with no room left in bytes could not be
	// signalled full); so does one that finds no send in flight unless
	// company is expected (a lone user does not wait for the linger). Under
	// concurrency the batch lingers to fill up.
	take := func(pd *pending) {
		p.queued.Add(-1)
		p.queuedBytes.Add(-int64(pd.size))
		busy.arrive(pd.at, len(batch) > 0 || p.sending.Load() > 0)
		if size+pd.size > maxBytes {
			flush() // SQS's limit on the whole request, or AggregateBytes
		}
		batch = append(batch, pd)
		size += pd.size
		if len(batch) >= perCall || size >= maxBytes || (len(p.sem) == 0 && !busy.expected()) {
			flush()
		} else if len(batch) == 1 {
			timer.Reset(p.cfg.Linger)
			linger = timer.C
		}
	}
	// drain takes every message waiting in reqs; it reports false once
	// reqs is closed and drained.
	drain := func() bool {
		for {
			select {
			case pd, ok := <-p.reqs:
				if !ok {
					return false
				}
				take(pd)
			default:
				return true
			}
		}
	}
	for {
		if len(batch) == 0 {
			// Nothing forming: every Send signals (room 1), and the first
			// message is awaited here.
			p.room.Store(1)
			p.roomBytes.Store(-1)
			select {
			case pd, ok := <-p.reqs:
				if !ok {
					return
				}
				take(pd)
			case <-p.full:
			case <-freed:
			}
			if !drain() {
				flush()
				return
			}
			continue
		}
		// A batch lingers. Messages that would fill it (in number or in
		// bytes) may already be here; else the Send that brings them
		// signals full (both sides are atomics, so one of them sees the
		// other). So does one that fills reqs (MaxPending may be less than
		// the room): those waiting go into the batch, and Sends are not
		// refused while it lingers with room for them.
		room, roomBytes := int64(min(perCall-len(batch), p.cfg.MaxPending)), int64(maxBytes-size)
		p.room.Store(room)
		p.roomBytes.Store(roomBytes)
		if p.queued.Load() < room && p.queuedBytes.Load() <= roomBytes {
			select {
			case <-linger:
				if !drain() {
					flush()
					return
				}
				if len(batch) == 1 && p.sending.Load() == 0 {
					busy.nobodyCame()
				}
				flush()
				continue
			case <-freed:
			case <-p.full:
			}
		}
		if !drain() {
			flush()
			return
		}
		if len(batch) > 0 && len(p.sem) == 0 && !busy.expected() {
			flush() // nobody left to batch with, and nobody expected soon
		}
	}
}

// company says whether a message that finds no send in flight should
// linger for others: only while messages come faster than the busy rate
// (the moving average of the gaps between them, weight 1/32 to the newest,
// under busyGap) and they have been seen to overlap: one came while
// another was waiting for a batch or being sent. A client that waits for
// each answer before its next post never overlaps itself, however fast it
// posts, so it never waits for the linger; a linger that ends with its
// message still alone and nothing being sent says the same, and stops the
// lingering until messages overlap again. Each gap counts as at most
// maxGap, and the first as maxGap, so the first message after a pause
// reads as lone and a new busy spell is recognised within about 150
// messages (an eighth of a second at 1,200/s). The weight is 1/32, not 1/8:
// the average of gaps that come at random (many independent clients) is
// itself noisy, and with 1/8 a stream of 800/s read as faster than
// 1,000/s for 23% of its messages, which then waited for the linger (the
// accept p99 at 800/s rose to 14-16 ms in make bench runs with a 20ms
// linger); with 1/32, 5%, while a stream of 1,200/s reads as busy for 94%
// of its messages instead of 80% (TestCompanyTellsRatesApartWhenGapsComeAtRandom).
type company struct {
	busyGap, maxGap time.Duration
	last            time.Time
	gap             time.Duration
	overlapped      bool
}

// arrive records a message at now; others says whether another message
// was then waiting for a batch or being sent.
func (c *company) arrive(now time.Time, others bool) {
	g := c.maxGap
	if !c.last.IsZero() {
		// Concurrent Sends read the clock before they queue, so one may
		// come after a later reading: a gap of 0.
		g = min(max(now.Sub(c.last), 0), c.maxGap)
	}
	if now.After(c.last) {
		c.last = now
	}
	if c.gap == 0 {
		c.gap = g
	} else {
		c.gap += (g - c.gap) / 32
	}
	if others {
		c.overlapped = true
	}
}

// expected: company is due within the linger.
func (c *company) expected() bool { return c.overlapped && c.gap < c.busyGap }

// nobodyCame records a linger that ended alone.
func (c *company) nobodyCame() { c.overlapped = false }

// send makes the SendMessageBatch call for batch (one aggregated message,
// when Aggregate is set) and returns each message's error; answer tells the
// callers.
func (p *Publisher) send(batch []*pending) []error {
	defer func() {
		p.waiting.Add(-int64(len(batch)))
		p.sending.Add(-int64(len(batch)))
	}()
	oldest := batch[0].at
	for _, pd := range batch[1:] {
		if pd.at.Before(oldest) {
			oldest = pd.at // concurrent Sends read the clock before they queue
		}
	}
	deadline := oldest.Add(p.cfg.SendTimeout)
	if !time.Now().Before(deadline) {
		// Not observed: no call was made, and the calls that held it up
		// were observed as they ended.
		err := fmt.Errorf("%w: no sender was free for %v (SendTimeout); not sent", number.ErrUnavailable, p.cfg.SendTimeout)
		return slices.Repeat([]error{err}, len(batch))
	}
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	msgs := make([]message.Message, len(batch))
	for i, pd := range batch {
		msgs[i] = pd.msg
	}
	start := time.Now()
	var errs []error
	if p.cfg.Aggregate != nil && len(msgs) > 1 {
		err := sendChunk(ctx, p.api, p.cfg.QueueURL, []message.Message{p.cfg.Aggregate(msgs)})[0]
		errs = slices.Repeat([]error{err}, len(msgs))
	} else {
		errs = sendChunk(ctx, p.api, p.cfg.QueueURL, msgs)
	}
	p.observe(time.Since(start))
	return errs
}

func (p *Publisher) answer(batch []*pending, errs []error) {
	var firstErr error
	failed := 0
	for i, err := range errs {
		if err != nil {
			failed++
			firstErr = cmp.Or(firstErr, err)
		}
		batch[i].done <- err
	}
	if failed > 0 {
		p.log.Warn().Err(firstErr).Int("messages", failed).Int("batch", len(batch)).Msg("queue did not take messages")
	}
}
