package lambdaapi

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/rs/zerolog"

	"github.com/numbers-app/numbers/shared/message"
	"github.com/numbers-app/numbers/shared/number"
	"github.com/numbers-app/numbers/worker/persist"
)

// Processor is the batch-persist core (persist.Persister), the same one the
// ECS worker calls.
type Processor interface {
	Process(ctx context.Context, msgs []message.Message) persist.Result
}

var _ Processor = (*persist.Persister)(nil)

// ErrBatchFailed is wrapped by the error returned when every record of a
// batch failed transiently: Lambda then retries the whole batch and the
// event source mapping backs off.
var ErrBatchFailed = errors.New("every record of the batch failed")

// Visibility changes the visibility of received messages by receipt
// handle (sqsqueue.Queue, on the queue the event source mapping reads).
type Visibility interface {
	ChangeVisibility(ctx context.Context, handles []string, d time.Duration) error
}

// DefaultRetryBase is SQSConfig.RetryBase when it is zero.
const DefaultRetryBase = 30 * time.Second

// MaxVisibility is SQS's longest visibility timeout (12 hours).
const MaxVisibility = 12 * time.Hour

// SQSConfig tunes the SQS handler.
type SQSConfig struct {
	// Queue, when set, is used to hold records that failed for a dependency
	// reason back for RetryVisibility of their receive count before Lambda
	// returns them to the queue, so a long outage takes far more time to
	// reach maxReceiveCount. Nil: they come back after the queue's
	// visibility timeout.
	Queue Visibility
	// RetryBase is the visibility after the first failed receive; it
	// doubles with each receive. Defaults to DefaultRetryBase.
	RetryBase time.Duration
}

// RetryVisibility is how long a record that failed for a dependency reason
// on its receiveCount-th receive stays invisible before the next one: base
// doubled for each receive after the first, at most MaxVisibility. A jitter
// of up to half of it is added on top (never taken off), so the sum over
// maxReceiveCount receives is a lower bound on how long an outage must last
// before SQS moves a record to the dead-letter queue.
func RetryVisibility(receiveCount int, base time.Duration) time.Duration {
	d := base
	for i := 1; i < receiveCount && d < MaxVisibility; i++ {
		d *= 2
	}
	return min(d, MaxVisibility)
}

// SQS handles a batch from an SQS event source mapping, which must have
// ReportBatchItemFailures enabled (FunctionResponseTypes): without it Lambda
// ignores BatchItemFailures and deletes the whole batch on success.
//
// Records that are stored (new or duplicate) or moved to the dead-letter
// queue are left out of BatchItemFailures, so Lambda deletes them; records
// that failed transiently are listed, and with cfg.Queue set are first held
// invisible for RetryVisibility of their receive count. When all of them
// failed, the handler returns an error (Lambda then returns the whole batch,
// with the visibility set here).
func SQS(p Processor, log zerolog.Logger, cfg SQSConfig) func(ctx context.Context, e events.SQSEvent) (events.SQSEventResponse, error) {
	base := cmp.Or(cfg.RetryBase, DefaultRetryBase)
	return func(ctx context.Context, e events.SQSEvent) (events.SQSEventResponse, error) {
		resp := events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{}}
		if len(e.Records) == 0 {
			return resp, nil
		}
		l := log.With().Str("aws_request_id", awsRequestID(ctx)).Logger()
		msgs := Messages(e.Records)
		pctx, cancel := withMargin(ctx)
		res := p.Process(pctx, msgs)
		cancel()
		for _, i := range res.Failed {
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: e.Records[i].MessageId})
		}
		ev := l.Info()
		if len(res.Failed) > 0 {
			ev = l.Warn().Err(res.Err)
		}
		ev.Int("records", len(e.Records)).Int("stored", res.Stored).Int("duplicates", res.Duplicates).
			Int("poisoned", res.Poisoned).Int("failed", len(res.Failed)).Msg("batch processed")
		if len(res.Failed) > 0 && cfg.Queue != nil && !errors.Is(res.Err, number.ErrInvalid) {
			holdBack(ctx, cfg.Queue, base, msgs, res.Failed, l)
		}
		if len(res.Failed) == len(e.Records) {
			err := fmt.Errorf("%w (%d records)", ErrBatchFailed, len(e.Records))
			if res.Err != nil {
				err = fmt.Errorf("%w: %w", err, res.Err)
			}
			return events.SQSEventResponse{}, err
		}
		return resp, nil
	}
}

// holdBack sets the visibility of the failed records by their receive
// count, with one jitter for the batch. A failure only costs the longer
// wait: the records come back after the queue's visibility timeout.
func holdBack(ctx context.Context, q Visibility, base time.Duration, msgs []message.Message, failed []int, log zerolog.Logger) {
	byWait := map[time.Duration][]string{}
	jitter := rand.Float64() / 2 //nolint:gosec // jitter spreads retries; it guards no secret
	for _, i := range failed {
		m := msgs[i]
		if m.ReceiptHandle == "" {
			continue
		}
		d := RetryVisibility(max(m.ReceiveCount, 1), base)
		d = min(d+time.Duration(float64(d)*jitter), MaxVisibility).Truncate(time.Second)
		byWait[d] = append(byWait[d], m.ReceiptHandle)
	}
	vctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	for d, handles := range byWait {
		if err := q.ChangeVisibility(vctx, handles, d); err != nil {
			log.Warn().Err(err).Int("records", len(handles)).Msg("could not hold failed records back: they return after the queue's visibility timeout")
			continue
		}
		log.Info().Int("records", len(handles)).Dur("visible_in", d).Msg("failed records held back")
	}
}

// Messages converts SQS event records to the envelope: every message
// attribute keeps its data type (String, Number, Binary, custom suffixes)
// and value, and the receive count and sent time come from the record's
// system attributes. It is the Lambda path's only conversion.
func Messages(records []events.SQSMessage) []message.Message {
	msgs := make([]message.Message, len(records))
	for i, r := range records {
		attrs := make(map[string]message.Attribute, len(r.MessageAttributes))
		for k, a := range r.MessageAttributes {
			// Both values as the event carries them: the type says which
			// one counts, and a type this code does not know (SQS would
			// refuse it, so only a hand-made event has one) loses nothing.
			attr := message.Attribute{DataType: a.DataType, BinaryValue: a.BinaryValue}
			if a.StringValue != nil {
				attr.StringValue = *a.StringValue
			}
			attrs[k] = attr
		}
		m := message.Message{ID: r.MessageId, Body: r.Body, Attributes: attrs, ReceiptHandle: r.ReceiptHandle}
		m.ReceiveCount, _ = strconv.Atoi(r.Attributes["ApproximateReceiveCount"])
		if ms, err := strconv.ParseInt(r.Attributes["SentTimestamp"], 10, 64); err == nil {
			m.SentAt = time.UnixMilli(ms).UTC()
		}
		msgs[i] = m
	}
	return msgs
}

func awsRequestID(ctx context.Context) string {
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		return lc.AwsRequestID
	}
	return ""
}
