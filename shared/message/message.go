// Package message is the one envelope every transport of numbers carries: a
// queue message as SQS ReceiveMessage, a Lambda SQS event or a dead-letter
// export line gives it, and the dead-letter vocabulary and SQS limits that
// apply to it. It imports only the standard library; the event contract
// (what a body means) lives in package events.
package message

import "time"

// Message is one queue message, whatever delivered it. Fields a transport
// does not know are zero.
type Message struct {
	// ID is the transport's message id (SQS MessageId); it changes when a
	// message is moved or replayed.
	ID string
	// Body is the message body (for events, JSON; for anything else, text).
	Body string
	// Attributes are the SQS message attributes, by name, with their types.
	Attributes map[string]Attribute
	// ReceiptHandle identifies this receipt for delete and visibility
	// changes; empty when the message was not received from the SQS API.
	ReceiptHandle string
	// ReceiveCount is SQS's ApproximateReceiveCount (0: unknown).
	ReceiveCount int
	// SentAt is SQS's SentTimestamp (zero: unknown).
	SentAt time.Time
}

// Attribute is one typed SQS message attribute. DataType is "String",
// "Number" or "Binary", optionally followed by a custom suffix
// ("String.json", "Number.int"); Binary types carry BinaryValue, the others
// StringValue. SQS keeps the type and value as sent, and so does every tool
// here (dead-lettering, export, import, replay).
type Attribute struct {
	DataType    string
	StringValue string
	BinaryValue []byte
}

// String returns a String attribute.
func String(v string) Attribute { return Attribute{DataType: "String", StringValue: v} }

// Text returns the attribute's value as text when it is a String or Number
// type, and "" with ok false for Binary types.
func (a Attribute) Text() (v string, ok bool) {
	if IsBinary(a.DataType) {
		return "", false
	}
	return a.StringValue, true
}

// IsBinary reports whether dataType ("Binary" or "Binary.<suffix>") carries
// a BinaryValue.
func IsBinary(dataType string) bool {
	return dataType == "Binary" || (len(dataType) > 7 && dataType[:7] == "Binary.")
}

// Text returns the text of attribute name, or "" when it is absent or
// binary: the shape correlation ids (request_id, event_type) are read in.
func (m Message) Text(name string) string {
	v, _ := m.Attributes[name].Text()
	return v
}
