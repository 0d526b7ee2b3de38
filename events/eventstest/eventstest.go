// Package eventstest builds the events tests send: a valid "number
// submitted" event as the proxy enqueues it, with a fresh id.
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
// accepted now, request id "req-<value>".
func Valid(t testing.TB, value int64) message.Message {
	t.Helper()
	id, err := uuid.NewV7()
	require.NoError(t, err)
	m, err := events.Encode(number.Submission{ID: id.String(), Value: value, AcceptedAt: time.Now().UTC(), RequestID: fmt.Sprintf("req-%d", value)})
	require.NoError(t, err)
	return m
}
