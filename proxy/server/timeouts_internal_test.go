package server

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// A write without an Idempotency-Key has no deadline of its own: the read of
// its body (under ReadTimeout) and the Publisher's wait (SendTimeout from its
// Send) must fit in HandlerTimeout, the bound every other request has, so
// that a slow body and an SQS that hangs still end in a 503 within it (on
// net/http they met its write timeout: an empty reply).
func TestAWriteWithoutAKeyIsAnsweredBeforeTheWriteTimeout(t *testing.T) {
	pc := Config{}.publisherConfig().WithDefaults()
	assert.LessOrEqual(t, ReadTimeout+pc.SendTimeout, HandlerTimeout,
		"the body's read and the Publisher's SendTimeout (%v) must fit in HandlerTimeout", pc.SendTimeout)
}
