package lambdaapi

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/rs/zerolog"

	"github.com/numbers-app/numbers/shared/message"
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

// SQS handles a batch from an SQS event source mapping, which must have
// ReportBatchItemFailures enabled (FunctionResponseTypes): without it Lambda
// ignores BatchItemFailures and deletes the whole batch on success.
//
// Records that are stored (new or duplicate) or moved to the dead-letter
// queue are left out of BatchItemFailures, so Lambda deletes them; records
// that failed transiently are listed and come back after the visibility
// timeout. When all of them failed, the handler returns an error.
func SQS(p Processor, log zerolog.Logger) func(ctx context.Context, e events.SQSEvent) (events.SQSEventResponse, error) {
	return func(ctx context.Context, e events.SQSEvent) (events.SQSEventResponse, error) {
		resp := events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{}}
		if len(e.Records) == 0 {
			return resp, nil
		}
		l := log.With().Str("aws_request_id", awsRequestID(ctx)).Logger()
		ctx, cancel := withMargin(ctx)
		defer cancel()
		res := p.Process(ctx, Messages(e.Records))
		for _, i := range res.Failed {
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: e.Records[i].MessageId})
		}
		ev := l.Info()
		if len(res.Failed) > 0 {
			ev = l.Warn().Err(res.Err)
		}
		ev.Int("records", len(e.Records)).Int("stored", res.Stored).Int("duplicates", res.Duplicates).
			Int("poisoned", res.Poisoned).Int("failed", len(res.Failed)).Msg("batch processed")
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

// Messages converts SQS event records to the envelope: every message
// attribute keeps its data type (String, Number, Binary, custom suffixes)
// and value, and the receive count and sent time come from the record's
// system attributes. It is the Lambda path's only conversion.
func Messages(records []events.SQSMessage) []message.Message {
	msgs := make([]message.Message, len(records))
	for i, r := range records {
		attrs := make(map[string]message.Attribute, len(r.MessageAttributes))
		for k, a := range r.MessageAttributes {
			attr := message.Attribute{DataType: a.DataType}
			if message.IsBinary(a.DataType) {
				attr.BinaryValue = a.BinaryValue
			} else if a.StringValue != nil {
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
