package sqsqueue

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/rs/zerolog"

	"github.com/numbers-app/numbers/events"
	"github.com/numbers-app/numbers/shared/number"
)

// SendBatchAPI is the part of the SQS client a Publisher uses.
type SendBatchAPI interface {
	SendMessageBatch(ctx context.Context, in *sqs.SendMessageBatchInput, optFns ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error)
}

// Defaults for PublisherConfig.
const (
	DefaultMaxBatch    = 10 // SQS's limit per SendMessageBatch
	DefaultLinger      = 2 * time.Millisecond
	DefaultMaxInFlight = 16
	DefaultMaxPending  = 1024
	DefaultSendTimeout = 5 * time.Second
)

// PublisherConfig configures a Publisher.
type PublisherConfig struct {
	// QueueURL is the queue to send to. Required.
	QueueURL string
	// MaxBatch is the most messages per SendMessageBatch. Defaults to 10.
	MaxBatch int
	// Linger is how long a batch waits for more messages before it is sent.
	// Defaults to 2ms.
	Linger time.Duration
	// MaxInFlight bounds concurrent SendMessageBatch calls. Defaults to 16.
	MaxInFlight int
	// MaxPending bounds messages waiting for a batch. Past it, Send fails at
	// once with number.ErrOverloaded instead of growing memory. Defaults to 1024.
	MaxPending int
	// SendTimeout bounds one SendMessageBatch call, retries included.
	// Defaults to 5s.
	SendTimeout time.Duration
}

func (c PublisherConfig) withDefaults() PublisherConfig {
	if c.MaxBatch == 0 {
		c.MaxBatch = DefaultMaxBatch
	}
	if c.Linger == 0 {
		c.Linger = DefaultLinger
	}
	if c.MaxInFlight == 0 {
		c.MaxInFlight = DefaultMaxInFlight
	}
	if c.MaxPending == 0 {
		c.MaxPending = DefaultMaxPending
	}
	if c.SendTimeout == 0 {
		c.SendTimeout = DefaultSendTimeout
	}
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
	sem  chan struct{}

	mu     sync.RWMutex
	closed bool
	done   chan struct{}
}

type pending struct {
	msg  events.Message
	done chan error
}

var _ events.Sender = (*Publisher)(nil)

// NewPublisher starts a publisher; Close stops it.
func NewPublisher(api SendBatchAPI, cfg PublisherConfig, log zerolog.Logger) (*Publisher, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	p := &Publisher{
		api:  api,
		cfg:  cfg,
		log:  log,
		reqs: make(chan *pending, cfg.MaxPending),
		sem:  make(chan struct{}, cfg.MaxInFlight),
		done: make(chan struct{}),
	}
	go p.loop()
	return p, nil
}

// Send implements events.Sender.
func (p *Publisher) Send(ctx context.Context, m events.Message) error {
	pd := &pending{msg: m, done: make(chan error, 1)}
	p.mu.RLock()
	if p.closed {
		p.mu.RUnlock()
		return fmt.Errorf("%w: publisher is shutting down", number.ErrUnavailable)
	}
	select {
	case p.reqs <- pd:
		p.mu.RUnlock()
	default:
		p.mu.RUnlock()
		return fmt.Errorf("%w: %d messages already wait for the queue", number.ErrOverloaded, p.cfg.MaxPending)
	}
	select {
	case err := <-pd.done:
		return err
	case <-ctx.Done():
		// The message may still be sent; the caller just stops waiting and
		// does not promise anything (no 202). The worker stores it anyway,
		// which is harmless: the id is new and unique.
		return fmt.Errorf("wait for queue ack: %w", ctx.Err())
	}
}

// Close stops accepting messages, sends what is pending and waits for the
// calls in flight. Safe to call more than once.
func (p *Publisher) Close() {
	p.mu.Lock()
	if !p.closed {
		p.closed = true
		close(p.reqs)
	}
	p.mu.Unlock()
	<-p.done
}

func (p *Publisher) loop() {
	defer close(p.done)
	var wg sync.WaitGroup
	defer wg.Wait()

	timer := time.NewTimer(time.Hour)
	timer.Stop()
	var linger <-chan time.Time
	batch := make([]*pending, 0, p.cfg.MaxBatch)
	flush := func() {
		if len(batch) == 0 {
			return
		}
		// Blocking here when MaxInFlight calls are out is the back-pressure:
		// reqs fills up and Send sheds load with ErrOverloaded.
		p.sem <- struct{}{}
		wg.Add(1)
		go func(b []*pending) {
			defer wg.Done()
			defer func() { <-p.sem }()
			p.send(b)
		}(batch)
		batch = make([]*pending, 0, p.cfg.MaxBatch)
		timer.Stop()
		linger = nil
	}
	for {
		select {
		case pd, ok := <-p.reqs:
			if !ok {
				flush()
				return
			}
			batch = append(batch, pd)
			if len(batch) >= p.cfg.MaxBatch {
				flush()
			} else if len(batch) == 1 {
				timer.Reset(p.cfg.Linger)
				linger = timer.C
			}
		case <-linger:
			flush()
		}
	}
}

func (p *Publisher) send(batch []*pending) {
	ctx, cancel := context.WithTimeout(context.Background(), p.cfg.SendTimeout)
	defer cancel()
	entries := make([]types.SendMessageBatchRequestEntry, len(batch))
	for i, pd := range batch {
		entries[i] = types.SendMessageBatchRequestEntry{
			Id:                aws.String(strconv.Itoa(i)),
			MessageBody:       aws.String(pd.msg.Body),
			MessageAttributes: stringAttributes(pd.msg.Attributes),
		}
	}
	out, err := p.api.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(p.cfg.QueueURL), Entries: entries})
	if err != nil {
		err = fmt.Errorf("%w: send message batch: %w", number.ErrUnavailable, err)
		p.log.Warn().Err(err).Int("messages", len(batch)).Msg("queue send failed")
		for _, pd := range batch {
			pd.done <- err
		}
		return
	}
	answered := make([]bool, len(batch))
	for _, ok := range out.Successful {
		if i, convErr := strconv.Atoi(aws.ToString(ok.Id)); convErr == nil && i >= 0 && i < len(batch) && !answered[i] {
			answered[i] = true
			batch[i].done <- nil
		}
	}
	for _, f := range out.Failed {
		i, convErr := strconv.Atoi(aws.ToString(f.Id))
		if convErr != nil || i < 0 || i >= len(batch) || answered[i] {
			continue
		}
		answered[i] = true
		err := fmt.Errorf("%w: queue refused message: %s %s", number.ErrUnavailable, aws.ToString(f.Code), aws.ToString(f.Message))
		p.log.Warn().Err(err).Msg("queue refused a message")
		batch[i].done <- err
	}
	for i, ok := range answered {
		if !ok {
			batch[i].done <- fmt.Errorf("%w: queue did not report message %d of the batch", number.ErrUnavailable, i)
		}
	}
}

func stringAttributes(attrs map[string]string) map[string]types.MessageAttributeValue {
	if len(attrs) == 0 {
		return nil
	}
	out := make(map[string]types.MessageAttributeValue, len(attrs))
	for k, v := range attrs {
		if v == "" {
			continue // SQS rejects empty attribute values
		}
		out[k] = types.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(v)}
	}
	return out
}
