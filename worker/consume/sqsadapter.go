package consume

import (
	"context"
	"time"

	"github.com/numbers-app/numbers/shared/message"
	"github.com/numbers-app/numbers/shared/sqsqueue"
)

// SQS adapts an sqsqueue.Queue, whose Receive still returns
// sqsqueue.Received with string attributes, to Queue.
//
// Transitional: delete this file, and pass the sqsqueue.Queue itself, once
// sqsqueue.Queue.Receive returns []message.Message.
type SQS struct{ sqsqueue.Queue }

var _ Queue = SQS{}

// Receive receives from the queue and converts each message to the envelope.
func (q SQS) Receive(ctx context.Context, max int, wait time.Duration) ([]message.Message, error) {
	got, err := q.Queue.Receive(ctx, max, wait)
	if err != nil {
		return nil, err
	}
	msgs := make([]message.Message, len(got))
	for i, r := range got {
		attrs := make(map[string]message.Attribute, len(r.Attributes))
		for k, v := range r.Attributes {
			attrs[k] = message.String(v)
		}
		msgs[i] = message.Message{ID: r.MessageID, Body: r.Body, Attributes: attrs,
			ReceiptHandle: r.ReceiptHandle, ReceiveCount: r.ReceiveCount, SentAt: r.SentAt}
	}
	return msgs, nil
}
