package sqsqueue

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"

	"github.com/numbers-app/numbers/shared/message"
	"github.com/numbers-app/numbers/shared/number"
)

// chunks splits n items into consecutive runs that SQS takes in one batch
// call: at most message.MaxBatchEntries items and, when size is not nil, at
// most message.MaxRequestBytes in total. An item larger than the limit on
// its own gets a run of its own (the caller refuses it before sending).
// It is the one chunk-by-ten loop of the adapter: Delete, ChangeVisibility,
// SendBatch and the Publisher all use it.
func chunks(n int, size func(i int) int) [][2]int {
	var out [][2]int
	start, total := 0, 0
	for i := 0; i < n; i++ {
		s := 0
		if size != nil {
			s = size(i)
		}
		if i > start && (i-start == message.MaxBatchEntries || total+s > message.MaxRequestBytes) {
			out = append(out, [2]int{start, i})
			start, total = i, 0
		}
		total += s
	}
	if start < n {
		out = append(out, [2]int{start, n})
	}
	return out
}

// BatchError says which messages of a SendBatch SQS did not take, and why.
// Each per-message error wraps number.ErrUnavailable (SQS throttled, failed
// on its side, could not be reached, or did not report the entry: retry
// later) or message.ErrRefused (the message's own content: retrying cannot
// help). errors.Is on a BatchError asks each of them.
type BatchError struct {
	// Errs maps the index of each message not taken to its error.
	Errs map[int]error
}

func (e *BatchError) Error() string {
	idx := e.Indexes()
	if len(idx) == 0 {
		return "send batch: no failure"
	}
	return fmt.Sprintf("send batch: %d messages not sent; first (#%d): %v", len(idx), idx[0], e.Errs[idx[0]])
}

// Unwrap returns every per-message error.
func (e *BatchError) Unwrap() []error {
	out := make([]error, 0, len(e.Errs))
	for _, i := range e.Indexes() {
		out = append(out, e.Errs[i])
	}
	return out
}

// Indexes returns the indexes of the messages not sent, in order.
func (e *BatchError) Indexes() []int {
	idx := make([]int, 0, len(e.Errs))
	for i := range e.Errs {
		idx = append(idx, i)
	}
	sort.Ints(idx)
	return idx
}

// refusalCodes are the per-entry and request error codes by which SQS
// refuses a message for its own content.
var refusalCodes = []string{
	"InvalidMessageContents", "MessageTooLong", "InvalidParameterValue", "InvalidAttributeName",
	"InvalidAttributeValue", "InvalidAttributeType", "UnsupportedOperation",
}

func isRefusalCode(code string) bool {
	for _, c := range refusalCodes {
		if strings.EqualFold(code, c) || strings.EqualFold(code, "AWS.SimpleQueueService."+c) {
			return true
		}
	}
	return false
}

// entryError classifies one entry of SendMessageBatch's Failed list: a
// sender fault about the message's content is the message's fault; anything
// else (throttling, an internal error, an unknown code) is unavailable.
func entryError(f types.BatchResultErrorEntry) error {
	code, msg := aws.ToString(f.Code), aws.ToString(f.Message)
	if f.SenderFault && isRefusalCode(code) {
		return fmt.Errorf("%w: %s: %s", message.ErrRefused, code, msg)
	}
	return fmt.Errorf("%w: queue refused the message: %s: %s", number.ErrUnavailable, code, msg)
}

// callError classifies the error of a whole call: refused when SQS names
// the content (only meaningful for a batch of one), else unavailable.
func callError(what string, err error) (refused bool, out error) {
	var ae smithy.APIError
	if errors.As(err, &ae) && isRefusalCode(ae.ErrorCode()) {
		return true, fmt.Errorf("%w: %s: %w", message.ErrRefused, what, err)
	}
	return false, fmt.Errorf("%w: %s: %w", number.ErrUnavailable, what, err)
}

// entries builds the request entries of msgs; entry ids are the indexes.
func entries(msgs []message.Message) []types.SendMessageBatchRequestEntry {
	out := make([]types.SendMessageBatchRequestEntry, len(msgs))
	for i, m := range msgs {
		out[i] = types.SendMessageBatchRequestEntry{
			Id: aws.String(strconv.Itoa(i)), MessageBody: aws.String(m.Body), MessageAttributes: toSQS(m.Attributes),
		}
	}
	return out
}

// reconcile matches a SendMessageBatch answer to the n entries sent: nil
// for each entry in Successful, its classified error for each in Failed,
// and an unavailable error for each the answer does not name at all.
func reconcile(out *sqs.SendMessageBatchOutput, n int) []error {
	errs := make([]error, n)
	answered := make([]bool, n)
	for _, ok := range out.Successful {
		if i, err := strconv.Atoi(aws.ToString(ok.Id)); err == nil && i >= 0 && i < n && !answered[i] {
			answered[i] = true
		}
	}
	for _, f := range out.Failed {
		if i, err := strconv.Atoi(aws.ToString(f.Id)); err == nil && i >= 0 && i < n && !answered[i] {
			answered[i] = true
			errs[i] = entryError(f)
		}
	}
	for i, ok := range answered {
		if !ok {
			errs[i] = fmt.Errorf("%w: the queue's answer did not report message %d of the batch", number.ErrUnavailable, i)
		}
	}
	return errs
}

// toSQS converts attributes to the SDK's form, keeping each data type and
// value. Empty String/Number values are left out (SQS refuses them; the
// producers use "" for "none").
func toSQS(attrs map[string]message.Attribute) map[string]types.MessageAttributeValue {
	if len(attrs) == 0 {
		return nil
	}
	out := make(map[string]types.MessageAttributeValue, len(attrs))
	for k, a := range attrs {
		v := types.MessageAttributeValue{DataType: aws.String(a.DataType)}
		if message.IsBinary(a.DataType) {
			v.BinaryValue = a.BinaryValue
		} else {
			if a.StringValue == "" {
				continue
			}
			v.StringValue = aws.String(a.StringValue)
		}
		out[k] = v
	}
	return out
}

// sent is the message as SQS will count it (empty values left out).
func sent(m message.Message) message.Message {
	for _, a := range m.Attributes {
		if !message.IsBinary(a.DataType) && a.StringValue == "" {
			m.Attributes = fromSQS(toSQS(m.Attributes))
			break
		}
	}
	return m
}

// fromSQS converts received attributes, keeping each data type and value.
func fromSQS(attrs map[string]types.MessageAttributeValue) map[string]message.Attribute {
	out := make(map[string]message.Attribute, len(attrs))
	for k, v := range attrs {
		out[k] = message.Attribute{DataType: aws.ToString(v.DataType), StringValue: aws.ToString(v.StringValue), BinaryValue: v.BinaryValue}
	}
	return out
}
