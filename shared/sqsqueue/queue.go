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

	"github.com/numbers-app/numbers/shared/message"
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

// receiveSystemAttributes are the system attributes Receive reads; asking
// for these two instead of All makes each answer smaller and cheaper to
// decode (BenchmarkSDKReceiveMessage).
var receiveSystemAttributes = []types.MessageSystemAttributeName{
	types.MessageSystemAttributeNameApproximateReceiveCount,
	types.MessageSystemAttributeNameSentTimestamp,
}

// MinWait and MaxWait bound Receive's long poll. SQS waits whole seconds,
// 0 to 20 (WaitTimeSeconds), but a wait of 0 cannot be asked for: the SDK
// leaves a WaitTimeSeconds of 0 out of the request (aws-sdk-go-v2 issue
// 1704), and SQS then waits the queue's ReceiveMessageWaitTimeSeconds (20 s
// on the main queue infra/ creates) instead of answering at once.
const (
	MinWait = time.Second
	MaxWait = 20 * time.Second
)

// ErrWait is returned by Receive for a wait outside MinWait..MaxWait.
var ErrWait = errors.New("sqsqueue: a receive waits whole seconds from 1s to 20s (SQS's WaitTimeSeconds; the SDK sends no wait of 0, so SQS would wait the queue's default instead)")

// CheckWait returns an error wrapping ErrWait unless d is a wait a
// configuration may ask Receive for: whole seconds, MinWait..MaxWait.
func CheckWait(d time.Duration) error {
	if d < MinWait || d > MaxWait || d%time.Second != 0 {
		return fmt.Errorf("%w: got %v", ErrWait, d)
	}
	return nil
}

// Receive long-polls for up to max (1..10) messages for wait
// (MinWait..MaxWait, whole seconds; a fraction is dropped), with their
// attributes as sent (data types kept), receive count and sent time. A wait
// out of range returns ErrWait without calling SQS; SQS's errors wrap
// number.ErrUnavailable.
func (q Queue) Receive(ctx context.Context, max int, wait time.Duration) ([]message.Message, error) {
	if wait < MinWait || wait > MaxWait {
		return nil, fmt.Errorf("%w: got %v", ErrWait, wait)
	}
	out, err := q.API.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
		QueueUrl:                    aws.String(q.URL),
		MaxNumberOfMessages:         int32(max),                //nolint:gosec // 1..10, SQS refuses more
		WaitTimeSeconds:             int32(wait / time.Second), //nolint:gosec // 1..20 s, checked above
		MessageAttributeNames:       []string{"All"},
		MessageSystemAttributeNames: receiveSystemAttributes,
	})
	if err != nil {
		return nil, fmt.Errorf("%w: receive: %w", number.ErrUnavailable, err)
	}
	msgs := make([]message.Message, 0, len(out.Messages))
	for _, m := range out.Messages {
		r := message.Message{
			ID:            aws.ToString(m.MessageId),
			ReceiptHandle: aws.ToString(m.ReceiptHandle),
			Body:          aws.ToString(m.Body),
			Attributes:    fromSQS(m.MessageAttributes),
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
// consumer's idempotency makes harmless); an entry the answer does not
// name counts as not deleted.
func (q Queue) Delete(ctx context.Context, handles []string) ([]string, error) {
	var failed []string
	var firstErr error
	for _, c := range chunks(len(handles), nil) {
		chunk := handles[c[0]:c[1]]
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
		ok := succeeded(out.Successful, out.Failed, len(chunk))
		for i, done := range ok {
			if !done {
				failed = append(failed, chunk[i])
			}
		}
	}
	if firstErr == nil && len(failed) > 0 {
		firstErr = fmt.Errorf("%w: delete batch: %d messages not deleted", number.ErrUnavailable, len(failed))
	}
	return failed, firstErr
}

// ChangeVisibility sets the visibility timeout of messages, ten per call.
// Zero makes them visible again at once (release).
func (q Queue) ChangeVisibility(ctx context.Context, handles []string, d time.Duration) error {
	var errs []error
	for _, c := range chunks(len(handles), nil) {
		chunk := handles[c[0]:c[1]]
		entries := make([]types.ChangeMessageVisibilityBatchRequestEntry, len(chunk))
		for i, h := range chunk {
			entries[i] = types.ChangeMessageVisibilityBatchRequestEntry{
				Id: aws.String(strconv.Itoa(i)), ReceiptHandle: aws.String(h), VisibilityTimeout: int32(d / time.Second), //nolint:gosec // at most 12 h, SQS refuses more
			}
		}
		out, err := q.API.ChangeMessageVisibilityBatch(ctx, &sqs.ChangeMessageVisibilityBatchInput{QueueUrl: aws.String(q.URL), Entries: entries})
		if err != nil {
			errs = append(errs, fmt.Errorf("%w: change visibility: %w", number.ErrUnavailable, err))
			continue
		}
		if n := len(chunk) - answeredOK(out.Successful, out.Failed, len(chunk)); n > 0 {
			errs = append(errs, fmt.Errorf("change visibility: %d of %d not changed", n, len(chunk)))
		}
	}
	return errors.Join(errs...)
}

// SendBatch sends messages in as few SendMessageBatch calls as SQS's limits
// allow (ten entries and message.MaxRequestBytes per call). It returns the
// indexes of the messages SQS did not take, in order, and a *BatchError
// that says why for each (see BatchError). A message SQS would refuse
// (message.Message.Validate) is not sent and fails with message.ErrRefused;
// an entry the answer does not report is a failure.
func (q Queue) SendBatch(ctx context.Context, msgs []message.Message) ([]int, error) {
	errs := sendAll(ctx, q.API, q.URL, msgs)
	be := &BatchError{Errs: map[int]error{}}
	for i, err := range errs {
		if err != nil {
			be.Errs[i] = err
		}
	}
	if len(be.Errs) == 0 {
		return nil, nil
	}
	return be.Indexes(), be
}

// sendAll sends msgs within SQS's limits and returns one error (nil: sent)
// per message.
func sendAll(ctx context.Context, api SendBatchAPI, url string, msgs []message.Message) []error {
	errs := make([]error, len(msgs))
	ready := make([]message.Message, 0, len(msgs))
	idx := make([]int, 0, len(msgs))
	for i, m := range msgs {
		m = sent(m)
		if err := m.Validate(); err != nil {
			errs[i] = err
			continue
		}
		ready = append(ready, m)
		idx = append(idx, i)
	}
	for _, c := range chunks(len(ready), func(i int) int { return ready[i].Size() }) {
		for k, err := range sendChunk(ctx, api, url, ready[c[0]:c[1]]) {
			errs[idx[c[0]+k]] = err
		}
	}
	return errs
}

// sendChunk makes one SendMessageBatch call and reconciles its answer. When
// SQS refuses the whole request for its content, each message is sent on
// its own to find the one at fault.
func sendChunk(ctx context.Context, api SendBatchAPI, url string, msgs []message.Message) []error {
	out, err := api.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(url), Entries: entries(msgs)})
	if err != nil {
		refused, err := callError("send message batch", err)
		errs := make([]error, len(msgs))
		for i := range msgs {
			if refused && len(msgs) > 1 {
				errs[i] = sendChunk(ctx, api, url, msgs[i:i+1])[0]
			} else {
				errs[i] = err
			}
		}
		return errs
	}
	return reconcile(out, len(msgs))
}

// succeeded says, per entry of a Delete or ChangeVisibility batch of n,
// whether the answer reports it done: listed in Successful and not in Failed.
func succeeded[S types.DeleteMessageBatchResultEntry | types.ChangeMessageVisibilityBatchResultEntry](ok []S, failed []types.BatchResultErrorEntry, n int) []bool {
	done := make([]bool, n)
	for _, s := range ok {
		var id *string
		switch e := any(s).(type) {
		case types.DeleteMessageBatchResultEntry:
			id = e.Id
		case types.ChangeMessageVisibilityBatchResultEntry:
			id = e.Id
		}
		if i, err := strconv.Atoi(aws.ToString(id)); err == nil && i >= 0 && i < n {
			done[i] = true
		}
	}
	for _, f := range failed {
		if i, err := strconv.Atoi(aws.ToString(f.Id)); err == nil && i >= 0 && i < n {
			done[i] = false
		}
	}
	return done
}

func answeredOK[S types.DeleteMessageBatchResultEntry | types.ChangeMessageVisibilityBatchResultEntry](ok []S, failed []types.BatchResultErrorEntry, n int) int {
	c := 0
	for _, d := range succeeded(ok, failed, n) {
		if d {
			c++
		}
	}
	return c
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

// Send sends one message in its own call, without the Publisher's
// coalescing, for processes that serve one request at a time (Lambda). Its
// error wraps number.ErrUnavailable or message.ErrRefused as SendBatch's do.
func (q Queue) Send(ctx context.Context, m message.Message) error {
	ctx, cancel := context.WithTimeout(ctx, DefaultSendTimeout)
	defer cancel()
	if err := sendAll(ctx, q.API, q.URL, []message.Message{m})[0]; err != nil {
		return fmt.Errorf("send message: %w", err)
	}
	return nil
}

// Depth is Stats as (visible, in flight), the shape the stats page and the
// queue-depth metric read.
func (q Queue) Depth(ctx context.Context) (visible, inFlight int, err error) {
	s, err := q.Stats(ctx)
	return s.Visible, s.InFlight, err
}
