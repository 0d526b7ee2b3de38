package message

// The dead-letter vocabulary: the attributes the worker adds when it moves a
// message to the dead-letter queue, and the one the replay tools count. They
// are written by worker/persist and read by worker/dlq; renaming one here
// renames it for both (the replay cap depends on AttrReplayCount).
const (
	// AttrDLQReason is a short, stable code for why the message is in the
	// DLQ (events.Reason*, or one of the Reason* below).
	AttrDLQReason = "dlq_reason"
	// AttrDLQDetail is a human-readable detail, at most MaxDetailBytes.
	AttrDLQDetail = "dlq_detail"
	// AttrDLQFailedAt is when the worker gave up on it (RFC 3339, UTC).
	AttrDLQFailedAt = "dlq_failed_at"
	// AttrDLQMessageID is the message id it had in the main queue.
	AttrDLQMessageID = "dlq_source_message_id"
	// AttrReplayCount counts how many times the message was replayed from
	// the DLQ to the main queue; replay refuses past a cap.
	AttrReplayCount = "replay_count"
)

// SQS limits every batch builder and every tool respects. Source: the
// Amazon SQS Developer Guide, "Amazon SQS message quotas".
const (
	// MaxAttributes is the most message attributes one message may carry.
	MaxAttributes = 10
	// MaxBatchEntries is the most entries in one Send/Delete/
	// ChangeMessageVisibility batch.
	MaxBatchEntries = 10
	// MaxRequestBytes is the most bytes of one message, and of one whole
	// SendMessageBatch (bodies plus attribute names, types and values):
	// 1 MiB.
	MaxRequestBytes = 1 << 20
	// MaxDetailBytes bounds AttrDLQDetail so the reason never pushes a
	// message past MaxRequestBytes by much.
	MaxDetailBytes = 256
)

// Reasons the dead-letter tools write themselves (the worker's own are the
// events.Reason* codes).
const (
	// ReasonImported marks a message `worker dlq import` put into the DLQ
	// without a reason of its own, so it is not taken for one the redrive
	// policy moved.
	ReasonImported = "imported"
)
