package server

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// A write without an Idempotency-Key has no deadline of its own: the read of
// its body (under ReadTimeout) and the Publisher's wait (SendTimeout from its
// Send) must end before the write timeout, with the room HandlerTimeout
// leaves, or a slow body and an SQS that hangs meet an empty reply.
func TestAWriteWithoutAKeyIsAnsweredBeforeTheWriteTimeout(t *testing.T) {
	pc := Config{}.publisherConfig().WithDefaults()
	assert.LessOrEqual(t, ReadTimeout+pc.SendTimeout, HandlerTimeout,
		"the body's read and the Publisher's SendTimeout (%v) must fit in HandlerTimeout", pc.SendTimeout)
}
