// Package eventstest builds the events tests send and find: a valid
// "number submitted" event as the proxy enqueues it (with a fresh id), and
// a poison one as the worker dead-letters it.
package eventstest

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/numbers-app/numbers/events"
	"github.com/numbers-app/numbers/shared/message"
	"github.com/numbers-app/numbers/shared/number"
)

// Valid is the event of value as the proxy sends it: a fresh UUIDv7 id,
// accepted now, request id "req-<value>". In a dead-letter queue it is
// what the redrive policy moved there after transient failures exhausted
// maxReceiveCount (no dlq_* attributes).
func Valid(t testing.TB, value int64) message.Message {
	t.Helper()
	id, err := uuid.NewV7()
	require.NoError(t, err)
	m, err := events.Encode(number.Submission{ID: id.String(), Value: value, AcceptedAt: time.Now().UTC(), RequestID: fmt.Sprintf("req-%d", value)})
	require.NoError(t, err)
	return m
}

// Poison is an event the worker can never store, as the worker
// dead-letters it.
func Poison(i int) message.Message {
	return message.Message{
		Body: fmt.Sprintf(`{"type":"number.submitted","version":2,"id":"%s","value":%d}`, uuid.NewString(), i),
		Attributes: Texts(map[string]string{
			events.AttrRequestID: fmt.Sprintf("poison-%d", i), events.AttrEventType: events.TypeNumberSubmitted, events.AttrEventVersion: "2",
			message.AttrDLQReason: events.ReasonUnknownVersion, message.AttrDLQDetail: "version 2 (this consumer reads 1)",
			message.AttrDLQFailedAt: time.Now().UTC().Format(time.RFC3339Nano), message.AttrDLQMessageID: "m-" + fmt.Sprint(i),
		}),
	}
}

// Texts is String attributes.
func Texts(attrs map[string]string) map[string]message.Attribute {
	out := make(map[string]message.Attribute, len(attrs))
	for k, v := range attrs {
		out[k] = message.String(v)
	}
	return out
}
