package sqsqueue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/numbers-app/numbers/events"
	"github.com/numbers-app/numbers/shared/number"
)

// API is the part of the SQS client a Queue uses.
type API interface {
	SendBatchAPI
	ReceiveMessage(ctx context.Context, in *sqs.ReceiveMessageInput, optFns ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error)
	DeleteMessageBatch(ctx context.Context, in *sqs.DeleteMessageBatchInput, optFns ...func(*sqs.Options)) (*sqs.DeleteMessageBatchOutput, error)
	ChangeMessageVisibilityBatch(ctx context.Context, in *sqs.ChangeMessageVisibilityBatchInput, optFns ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityBatchOutput, error)
	GetQueueAttributes(ctx context.Context, in *sqs.GetQueueAttributesInput, optFns ...func(*sqs.Options)) (*sqs.GetQueueAttributesOutput, error)
}

var _ API = (*sqs.Client)(nil)

// Queue is one SQS queue seen by a consumer or an operator.
type Queue struct {
	API API
	URL string
}

// Received is a message as received.
type Received struct {
	MessageID     string
	ReceiptHandle string
	Body          string
	Attributes    map[string]string // string message attributes
	ReceiveCount  int
	SentAt        time.Time
}

// Receive long-polls for up to max (1..10) messages.
func (q Queue) Receive(ctx context.Context, max int, wait time.Duration) ([]Received, error) {
	out, err := q.API.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
		QueueUrl:                    aws.String(q.URL),
		MaxNumberOfMessages:         int32(max),
		WaitTimeSeconds:             int32(wait / time.Second),
		MessageAttributeNames:       []string{"All"},
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
	})
	if err != nil {
		return nil, fmt.Errorf("%w: receive: %w", number.ErrUnavailable, err)
	}
	msgs := make([]Received, 0, len(out.Messages))
	for _, m := range out.Messages {
		r := Received{
			MessageID:     aws.ToString(m.MessageId),
			ReceiptHandle: aws.ToString(m.ReceiptHandle),
			Body:          aws.ToString(m.Body),
			Attributes:    map[string]string{},
		}
		for k, v := range m.MessageAttributes {
			if v.StringValue != nil {
				r.Attributes[k] = *v.StringValue
			}
		}
		r.ReceiveCount, _ = strconv.Atoi(m.Attributes[string(types.MessageSystemAttributeNameApproximateReceiveCount)])
		if ms, err := strconv.ParseInt(m.Attributes[string(types.MessageSystemAttributeNameSentTimestamp)], 10, 64); err == nil {
			r.SentAt = time.UnixMilli(ms).UTC()
		}
		msgs = append(msgs, r)
	}
	return msgs, nil
}

// Delete deletes messages by receipt handle, ten per call. It returns the
// handles it could not delete (they will be delivered again, which the
// consumer's idempotency makes harmless).
func (q Queue) Delete(ctx context.Context, handles []string) ([]string, error) {
	var failed []string
	var firstErr error
	for start := 0; start < len(handles); start += 10 {
		chunk := handles[start:min(start+10, len(handles))]
		entries := make([]types.DeleteMessageBatchRequestEntry, len(chunk))
		for i, h := range chunk {
			entries[i] = types.DeleteMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: aws.String(h)}
		}
		out, err := q.API.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(q.URL), Entries: entries})
		if err != nil {
			failed = append(failed, chunk...)
			if firstErr == nil {
				firstErr = fmt.Errorf("%w: delete batch: %w", number.ErrUnavailable, err)
			}
			continue
		}
		for _, f := range out.Failed {
			if i, err := strconv.Atoi(aws.ToString(f.Id)); err == nil && i >= 0 && i < len(chunk) {
				failed = append(failed, chunk[i])
			}
		}
	}
	if firstErr == nil && len(failed) > 0 {
		firstErr = fmt.Errorf("delete batch: %d messages not deleted", len(failed))
	}
	return failed, firstErr
}

// ChangeVisibility sets the visibility timeout of messages, ten per call.
// Zero makes them visible again at once (release).
func (q Queue) ChangeVisibility(ctx context.Context, handles []string, d time.Duration) error {
	var errs []error
	for start := 0; start < len(handles); start += 10 {
		chunk := handles[start:min(start+10, len(handles))]
		entries := make([]types.ChangeMessageVisibilityBatchRequestEntry, len(chunk))
		for i, h := range chunk {
			entries[i] = types.ChangeMessageVisibilityBatchRequestEntry{
				Id: aws.String(strconv.Itoa(i)), ReceiptHandle: aws.String(h), VisibilityTimeout: int32(d / time.Second),
			}
		}
		out, err := q.API.ChangeMessageVisibilityBatch(ctx, &sqs.ChangeMessageVisibilityBatchInput{QueueUrl: aws.String(q.URL), Entries: entries})
		if err != nil {
			errs = append(errs, fmt.Errorf("%w: change visibility: %w", number.ErrUnavailable, err))
			continue
		}
		if len(out.Failed) > 0 {
			errs = append(errs, fmt.Errorf("change visibility: %d of %d failed", len(out.Failed), len(chunk)))
		}
	}
	return errors.Join(errs...)
}

// SendBatch sends messages, ten per call, and returns the indexes of those
// that were not accepted together with the first error.
func (q Queue) SendBatch(ctx context.Context, msgs []events.Message) ([]int, error) {
	var failed []int
	var firstErr error
	for start := 0; start < len(msgs); start += 10 {
		chunk := msgs[start:min(start+10, len(msgs))]
		entries := make([]types.SendMessageBatchRequestEntry, len(chunk))
		for i, m := range chunk {
			entries[i] = types.SendMessageBatchRequestEntry{
				Id: aws.String(strconv.Itoa(i)), MessageBody: aws.String(m.Body), MessageAttributes: stringAttributes(m.Attributes),
			}
		}
		out, err := q.API.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(q.URL), Entries: entries})
		if err != nil {
			for i := range chunk {
				failed = append(failed, start+i)
			}
			if firstErr == nil {
				firstErr = fmt.Errorf("%w: send batch: %w", number.ErrUnavailable, err)
			}
			continue
		}
		for _, f := range out.Failed {
			if i, err := strconv.Atoi(aws.ToString(f.Id)); err == nil && i >= 0 && i < len(chunk) {
				failed = append(failed, start+i)
				if firstErr == nil {
					firstErr = fmt.Errorf("send batch: %s: %s", aws.ToString(f.Code), aws.ToString(f.Message))
				}
			}
		}
	}
	return failed, firstErr
}

// Stats are a queue's approximate counters.
type Stats struct {
	Visible  int `json:"visible"`
	InFlight int `json:"in_flight"`
	Delayed  int `json:"delayed"`
}

// Stats reads the queue's approximate counters.
func (q Queue) Stats(ctx context.Context) (Stats, error) {
	out, err := q.API.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(q.URL),
		AttributeNames: []types.QueueAttributeName{
			types.QueueAttributeNameApproximateNumberOfMessages,
			types.QueueAttributeNameApproximateNumberOfMessagesNotVisible,
			types.QueueAttributeNameApproximateNumberOfMessagesDelayed,
		},
	})
	if err != nil {
		return Stats{}, fmt.Errorf("%w: queue attributes: %w", number.ErrUnavailable, err)
	}
	var s Stats
	s.Visible, _ = strconv.Atoi(out.Attributes[string(types.QueueAttributeNameApproximateNumberOfMessages)])
	s.InFlight, _ = strconv.Atoi(out.Attributes[string(types.QueueAttributeNameApproximateNumberOfMessagesNotVisible)])
	s.Delayed, _ = strconv.Atoi(out.Attributes[string(types.QueueAttributeNameApproximateNumberOfMessagesDelayed)])
	return s, nil
}

// Ping checks that the queue exists and answers.
func (q Queue) Ping(ctx context.Context) error {
	_, err := q.API.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl:       aws.String(q.URL),
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameQueueArn},
	})
	if err != nil {
		return fmt.Errorf("%w: ping queue: %w", number.ErrUnavailable, err)
	}
	return nil
}

// QueueSpec describes a main queue and its dead-letter queue.
type QueueSpec struct {
	Name              string
	DLQName           string
	MaxReceiveCount   int
	VisibilityTimeout time.Duration
}

// CreateAPI is what Ensure needs.
type CreateAPI interface {
	CreateQueue(ctx context.Context, in *sqs.CreateQueueInput, optFns ...func(*sqs.Options)) (*sqs.CreateQueueOutput, error)
	GetQueueAttributes(ctx context.Context, in *sqs.GetQueueAttributesInput, optFns ...func(*sqs.Options)) (*sqs.GetQueueAttributesOutput, error)
}

// Ensure creates the dead-letter queue and the main queue with a redrive
// policy (idempotent) and returns their URLs. On AWS, Terraform owns the
// queues; this is for the local stack and tests.
func Ensure(ctx context.Context, api CreateAPI, spec QueueSpec) (mainURL, dlqURL string, err error) {
	dlq, err := api.CreateQueue(ctx, &sqs.CreateQueueInput{
		QueueName:  aws.String(spec.DLQName),
		Attributes: map[string]string{"MessageRetentionPeriod": "1209600"}, // 14 days, the maximum
	})
	if err != nil {
		return "", "", fmt.Errorf("create queue %s: %w", spec.DLQName, err)
	}
	attrs, err := api.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl: dlq.QueueUrl, AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameQueueArn},
	})
	if err != nil {
		return "", "", fmt.Errorf("dlq arn: %w", err)
	}
	redrive, err := json.Marshal(map[string]any{
		"deadLetterTargetArn": attrs.Attributes[string(types.QueueAttributeNameQueueArn)],
		"maxReceiveCount":     spec.MaxReceiveCount,
	})
	if err != nil {
		return "", "", fmt.Errorf("redrive policy: %w", err)
	}
	main, err := api.CreateQueue(ctx, &sqs.CreateQueueInput{
		QueueName: aws.String(spec.Name),
		Attributes: map[string]string{
			"RedrivePolicy":          string(redrive),
			"VisibilityTimeout":      strconv.Itoa(int(spec.VisibilityTimeout / time.Second)),
			"MessageRetentionPeriod": "345600", // 4 days, the SQS default
		},
	})
	if err != nil {
		return "", "", fmt.Errorf("create queue %s: %w", spec.Name, err)
	}
	return aws.ToString(main.QueueUrl), aws.ToString(dlq.QueueUrl), nil
}

var _ events.Sender = Queue{}

// Send sends one message in its own call: an events.Sender without the
// Publisher's coalescing, for processes that serve one request at a time
// (Lambda).
func (q Queue) Send(ctx context.Context, m events.Message) error {
	ctx, cancel := context.WithTimeout(ctx, DefaultSendTimeout)
	defer cancel()
	_, err := q.SendBatch(ctx, []events.Message{m})
	return err
}

// Depth is Stats as (visible, in flight), the shape the stats page and the
// queue-depth metric read.
func (q Queue) Depth(ctx context.Context) (visible, inFlight int, err error) {
	s, err := q.Stats(ctx)
	return s.Visible, s.InFlight, err
}
