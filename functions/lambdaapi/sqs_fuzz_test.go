package lambdaapi_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/numbers-app/numbers/functions/lambdaapi"
)

// FuzzMessages feeds the SQS event adapter's conversion arbitrary events:
// it must never panic, and every record must reach the persist core as it
// came, one message per record, with its id, body and every attribute's
// data type and value. (Whether a body is a valid event is the persist
// core's decision: it dead-letters it with a reason.) Seeds:
// testdata/fuzz/FuzzMessages and the golden batch. Longer runs:
// go test -run '^$' -fuzz FuzzMessages -fuzztime 60s ./functions/lambdaapi
func FuzzMessages(f *testing.F) {
	f.Add(golden(f, "sqs-batch.json"))
	f.Add([]byte(`{"Records":[{"messageId":"m","body":"x","messageAttributes":{"b":{"dataType":"Binary","binaryValue":"AAE="}}}]}`))
	f.Add([]byte(`{"Records":[{"messageId":"m","body":"","messageAttributes":{"n":{"dataType":"Number.int"}}}]}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		var e events.SQSEvent
		if json.Unmarshal(raw, &e) != nil {
			return // the Lambda runtime refuses it before the handler
		}
		msgs := lambdaapi.Messages(e.Records)
		if len(msgs) != len(e.Records) {
			t.Fatalf("%d records became %d messages", len(e.Records), len(msgs))
		}
		for i, r := range e.Records {
			m := msgs[i]
			if m.ID != r.MessageId || m.Body != r.Body {
				t.Fatalf("record %d: id %q body %q became %q %q", i, r.MessageId, r.Body, m.ID, m.Body)
			}
			if len(m.Attributes) != len(r.MessageAttributes) {
				t.Fatalf("record %d: %d attributes became %d", i, len(r.MessageAttributes), len(m.Attributes))
			}
			for k, a := range r.MessageAttributes {
				got := m.Attributes[k]
				if got.DataType != a.DataType || !bytes.Equal(got.BinaryValue, a.BinaryValue) ||
					(a.StringValue != nil && got.StringValue != *a.StringValue) {
					t.Fatalf("record %d attribute %q: %+v became %+v", i, k, a, got)
				}
			}
		}
	})
}
