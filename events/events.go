// Package events is the message contract between the proxy and the worker:
// the "number submitted" event, version 1, its JSON encoding and its strict
// decoding. See README.md and number_submitted.schema.json beside this file.
package events

import (
	"context"
	"encoding/json"
	"encoding/json/jsontext"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/numbers-app/numbers/shared/message"
	"github.com/numbers-app/numbers/shared/number"
)

// Contract constants.
const (
	// TypeNumberSubmitted is the only event type so far.
	TypeNumberSubmitted = "number.submitted"
	// Version is the schema version this package writes and the only one it reads.
	Version = 1
)

// Message attribute names set on every event (SQS message attributes), so
// consumers and operators can route and correlate without decoding the body.
const (
	AttrRequestID    = "request_id"
	AttrEventType    = "event_type"
	AttrEventVersion = "event_version"
	// AttrEventCount is set on an aggregated message (see Aggregate): how
	// many events its body carries. A single event does not have it.
	AttrEventCount = "event_count"
)

// ErrInvalidEvent marks a message that can never be processed (poison):
// malformed JSON, an unknown type or version, a missing or invalid field.
// Errors from Decode wrap it; anything else a consumer sees is transient.
var ErrInvalidEvent = errors.New("invalid event")

// Reasons a message is poison. They are short, stable codes for logs, metrics
// and the dead-letter queue's attributes.
const (
	ReasonMalformed      = "malformed"
	ReasonUnknownType    = "unknown_type"
	ReasonUnknownVersion = "unknown_version"
	ReasonMissingField   = "missing_field"
	ReasonInvalidField   = "invalid_field"
)

// DecodeError says why a message is poison.
type DecodeError struct {
	Reason string // one of the Reason* codes
	Detail string
}

func (e *DecodeError) Error() string { return e.Reason + ": " + e.Detail }

// Unwrap makes errors.Is(err, ErrInvalidEvent) true.
func (e *DecodeError) Unwrap() error { return ErrInvalidEvent }

// NumberSubmitted is version 1 of the event, as it appears on the wire.
// Value is a JSON number written exactly (never through float64).
type NumberSubmitted struct {
	Type       string          `json:"type"`
	Version    json.RawMessage `json:"version"`
	ID         string          `json:"id"`
	Value      json.RawMessage `json:"value"`
	AcceptedAt string          `json:"accepted_at"`
	RequestID  *string         `json:"request_id"`
}

// Encode turns a submission into a message: the JSON body and the String
// attributes request_id, event_type and event_version. The body's fields come
// in the order of NumberSubmitted; it is appended by hand rather than through
// json.Marshal because every accepted write is encoded once on the proxy's
// hot path, where reflection and its allocations were 14% of a write's own
// CPU (BenchmarkPostValue). FuzzEncodeIsWhatJSONMarshalWrites holds the two
// equal.
//
// The id must be a UUID in canonical lower-case form (number.ValidID), as
// the proxy makes them: uuid.Parse, which this used, also takes the
// "urn:uuid:" and braced forms, which Decode refuses, so such an event
// became poison on the consumer's side. The error is the caller's (an id
// is never a client's input), not ErrInvalid.
func Encode(s number.Submission) (message.Message, error) {
	if !number.ValidID(s.ID) {
		return message.Message{}, fmt.Errorf("encode event: id %.48q is not a UUID in canonical lower-case form", s.ID)
	}
	// The body is written into a strings.Builder, whose String is its
	// buffer: no copy of the body, whose bytes are half of what a write
	// allocates here. Numbers, the time and quoted strings are appended to
	// a buffer on the stack first.
	var b strings.Builder
	b.Grow(encodedSize + len(s.ID) + len(s.RequestID))
	var scratch [64]byte
	b.WriteString(`{"type":"` + TypeNumberSubmitted + `","version":1,"id":`)
	b.Write(appendString(scratch[:0], s.ID))
	b.WriteString(`,"value":`)
	b.Write(strconv.AppendInt(scratch[:0], s.Value, 10))
	b.WriteString(`,"accepted_at":"`)
	b.Write(number.Truncate(s.AcceptedAt).AppendFormat(scratch[:0], time.RFC3339Nano))
	b.WriteString(`","request_id":`)
	b.Write(appendString(scratch[:0], s.RequestID))
	b.WriteByte('}')
	return message.Message{
		Body: b.String(),
		Attributes: map[string]message.Attribute{
			AttrRequestID:    message.String(s.RequestID),
			AttrEventType:    message.String(TypeNumberSubmitted),
			AttrEventVersion: message.String("1"),
		},
	}, nil
}

// encodedSize is the body's length without its id and request id, with
// room for the longest value and time: the body is one allocation.
const encodedSize = 128

// appendString appends s as a JSON string. Invalid UTF-8 becomes U+FFFD,
// as json.Marshal writes it; the error that reports it is dropped for the
// same reason (the id is a parsed UUID, and a request id is any text).
func appendString(b []byte, s string) []byte {
	out, _ := jsontext.AppendQuote(b, s)
	return out
}

// Decode parses a message body strictly. Unknown fields are ignored (a
// compatible addition within a version); everything the contract requires
// must be present and valid, or the error wraps ErrInvalidEvent.
func Decode(body string) (number.Submission, error) {
	// Unmarshal refuses data after the object, as the contract does.
	var ev NumberSubmitted
	if err := json.Unmarshal([]byte(body), &ev); err != nil {
		return number.Submission{}, &DecodeError{ReasonMalformed, err.Error()}
	}
	switch {
	case ev.Type == "":
		return number.Submission{}, &DecodeError{ReasonMissingField, "type"}
	case ev.Type != TypeNumberSubmitted:
		return number.Submission{}, &DecodeError{ReasonUnknownType, fmt.Sprintf("type %q", ev.Type)}
	case len(ev.Version) == 0:
		return number.Submission{}, &DecodeError{ReasonMissingField, "version"}
	case string(ev.Version) != "1":
		return number.Submission{}, &DecodeError{ReasonUnknownVersion, fmt.Sprintf("version %s (this consumer reads %d)", ev.Version, Version)}
	case ev.ID == "":
		return number.Submission{}, &DecodeError{ReasonMissingField, "id"}
	case len(ev.Value) == 0:
		return number.Submission{}, &DecodeError{ReasonMissingField, "value"}
	case ev.AcceptedAt == "":
		return number.Submission{}, &DecodeError{ReasonMissingField, "accepted_at"}
	case ev.RequestID == nil:
		return number.Submission{}, &DecodeError{ReasonMissingField, "request_id"}
	}
	id, err := uuid.Parse(ev.ID)
	if err != nil || len(ev.ID) != 36 {
		return number.Submission{}, &DecodeError{ReasonInvalidField, fmt.Sprintf("id %q is not a UUID in canonical form", ev.ID)}
	}
	// A string or any other JSON type fails the canonical-decimal check.
	v, err := number.ParseDecimal(string(ev.Value))
	if err != nil {
		return number.Submission{}, &DecodeError{ReasonInvalidField, err.Error()}
	}
	at, err := time.Parse(time.RFC3339Nano, ev.AcceptedAt)
	if err != nil {
		return number.Submission{}, &DecodeError{ReasonInvalidField, fmt.Sprintf("accepted_at %q is not RFC 3339", ev.AcceptedAt)}
	}
	if _, off := at.Zone(); off != 0 {
		return number.Submission{}, &DecodeError{ReasonInvalidField, fmt.Sprintf("accepted_at %q is not UTC", ev.AcceptedAt)}
	}
	// A time Postgres refuses would fail the whole batch's insert: it is
	// this message's fault, so it is poison with a reason, like any field.
	if err := number.CheckTime(at); err != nil {
		return number.Submission{}, &DecodeError{ReasonInvalidField, fmt.Sprintf("accepted_at %q is outside the range a store keeps", ev.AcceptedAt)}
	}
	return number.Submission{ID: id.String(), Value: v, AcceptedAt: number.Truncate(at), RequestID: *ev.RequestID}, nil
}

// Aggregate returns one message that carries the events of msgs, each a
// message made by Encode: its body is a JSON array of their bodies, in
// order, and its attributes are event_type, event_version and event_count
// (the request ids stay in the events' bodies). One message is returned as
// it is, so a lone event keeps its single-event form. Several events in one
// SQS message cut the SQS calls per write, on the producer and the
// consumer, by their number, and SQS bills a message of up to 64 KiB as one
// request (docs/benchmarks.md, "Aggregation"); the Kinesis Producer
// Library calls the same thing record aggregation. msgs must not be empty.
func Aggregate(msgs []message.Message) message.Message {
	if len(msgs) == 1 {
		return msgs[0]
	}
	n := len(msgs) + 1
	for _, m := range msgs {
		n += len(m.Body)
	}
	b := make([]byte, 0, n)
	b = append(b, '[')
	for i, m := range msgs {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, m.Body...)
	}
	b = append(b, ']')
	return message.Message{
		Body: string(b),
		Attributes: map[string]message.Attribute{
			AttrEventType:    message.String(TypeNumberSubmitted),
			AttrEventVersion: message.String("1"),
			AttrEventCount:   message.String(strconv.Itoa(len(msgs))),
		},
	}
}

// Count is how many events m carries: an aggregate's event_count, one for
// any other message (a single event, or a body that is neither). For
// metrics only: DecodeMessage reads the body itself, not this attribute.
func Count(m message.Message) int {
	return CountOf(m.Text(AttrEventCount))
}

// CountOf is Count from the event_count attribute's value ("" when absent).
func CountOf(eventCount string) int {
	if n, err := strconv.Atoi(eventCount); err == nil && n > 0 {
		return n
	}
	return 1
}

// Item is one event of a message, as DecodeMessage finds it: its body and
// either its submission or the error (wrapping ErrInvalidEvent, a
// *DecodeError) that makes this event alone poison.
type Item struct {
	Body       string
	Submission number.Submission
	Err        error
}

// DecodeMessage decodes a message's body: a single event (a JSON object)
// or an aggregate of them (a JSON array, see Aggregate). It returns one
// Item per event, each decoded strictly by Decode, so one poison event in
// an aggregate does not spoil the others. The error (a *DecodeError, reason
// malformed) is for a body that as a whole is neither: not JSON, or an
// empty array. A single event that fails Decode is one Item with its Err.
func DecodeMessage(body string) ([]Item, error) {
	if !IsAggregate(body) {
		sub, err := Decode(body)
		return []Item{{Body: body, Submission: sub, Err: err}}, nil
	}
	var raw []jsontext.Value
	if err := json.Unmarshal([]byte(body), &raw); err != nil {
		return nil, &DecodeError{ReasonMalformed, "aggregate: " + err.Error()}
	}
	if len(raw) == 0 {
		return nil, &DecodeError{ReasonMalformed, "aggregate: no events"}
	}
	items := make([]Item, len(raw))
	for i, v := range raw {
		items[i].Body = string(v)
		items[i].Submission, items[i].Err = Decode(items[i].Body)
		var de *DecodeError
		if errors.As(items[i].Err, &de) {
			items[i].Err = &DecodeError{de.Reason, fmt.Sprintf("event %d of %d: %s", i+1, len(raw), de.Detail)}
		}
	}
	return items, nil
}

// IsAggregate says whether body has an aggregate's form: its first
// character other than JSON whitespace is '[' (events.Aggregate writes a
// JSON array; a single event is an object). It does not validate the rest.
func IsAggregate(body string) bool {
	for i := 0; i < len(body); i++ {
		switch body[i] {
		case ' ', '\t', '\n', '\r':
			continue
		case '[':
			return true
		}
		return false
	}
	return false
}

// Sender is a transport that has delivered a message once Send returns nil
// (the SQS adapter's Publisher and Queue). Its errors wrap
// number.ErrUnavailable when the transport is down or did not take the
// message, so clients are told to retry.
type Sender interface {
	Send(ctx context.Context, m message.Message) error
}

// Enqueuer encodes submissions as events and sends them: the number.Enqueuer
// every producer (the proxy on ECS, the HTTP Lambda) uses.
type Enqueuer struct {
	Sender Sender
}

var _ number.Enqueuer = Enqueuer{}

// Enqueue implements number.Enqueuer.
func (e Enqueuer) Enqueue(ctx context.Context, s number.Submission) error {
	m, err := Encode(s)
	if err != nil {
		return err
	}
	if err := e.Sender.Send(ctx, m); err != nil {
		return fmt.Errorf("enqueue number %s: %w", s.ID, err)
	}
	return nil
}
