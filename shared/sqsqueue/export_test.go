package sqsqueue

// Waiting is the number of messages taken by Send and not yet answered.
func (p *Publisher) Waiting() int64 { return p.waiting.Load() }
