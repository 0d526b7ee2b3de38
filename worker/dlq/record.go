package dlq

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/numbers-app/numbers/shared/message"
)

// Record is one message in an export file (one JSON object per line).
// Import reads body and attributes and ignores the rest.
//
// Each attribute is written with its SQS data type:
//
//	{"type": "String", "value": "abc"}       String, Number and their custom types
//	{"type": "Binary", "binary": "AAEC"}     Binary types, base64
//
// A plain string ("name": "abc") is read as a String attribute: the format
// of files exported before types were kept.
type Record struct {
	Body       string          `json:"body"`
	Attributes map[string]Attr `json:"attributes,omitempty"`
	MessageID  string          `json:"message_id,omitempty"`
	SentAt     *time.Time      `json:"sent_at,omitempty"`
	// Line is the line of the file it was read from (import only).
	Line int `json:"-"`
}

// Attr is one attribute of a Record, with its data type.
type Attr message.Attribute

// MarshalJSON writes {"type", "value"} or {"type", "binary"}.
func (a Attr) MarshalJSON() ([]byte, error) {
	if message.IsBinary(a.DataType) {
		return json.Marshal(struct {
			Type   string `json:"type"`
			Binary []byte `json:"binary"`
		}{a.DataType, a.BinaryValue})
	}
	return json.Marshal(struct {
		Type  string `json:"type"`
		Value string `json:"value"`
	}{a.DataType, a.StringValue})
}

// UnmarshalJSON reads the typed object, or a plain string as String.
func (a *Attr) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*a = Attr(message.String(s))
		return nil
	}
	var o struct {
		Type   *string `json:"type"`
		Value  *string `json:"value"`
		Binary *string `json:"binary"`
	}
	if err := json.Unmarshal(b, &o); err != nil {
		return errors.New(`an attribute is "text" or {"type": "String|Number|Binary[.suffix]", "value": "..." or "binary": "base64"}`)
	}
	switch {
	case o.Type == nil:
		return errors.New(`an attribute object needs "type"`)
	case message.IsBinary(*o.Type):
		if o.Binary == nil || o.Value != nil {
			return fmt.Errorf(`a %s attribute needs "binary" (base64) and no "value"`, *o.Type)
		}
		v, err := base64.StdEncoding.DecodeString(*o.Binary)
		if err != nil {
			return fmt.Errorf("a %s attribute's \"binary\" is not base64: %w", *o.Type, err)
		}
		*a = Attr{DataType: *o.Type, BinaryValue: v}
	default:
		if o.Value == nil || o.Binary != nil {
			return fmt.Errorf(`a %s attribute needs "value" and no "binary"`, *o.Type)
		}
		*a = Attr{DataType: *o.Type, StringValue: *o.Value}
	}
	return nil
}

// NewRecord is the export record of a received message.
func NewRecord(m message.Message) Record {
	rec := Record{Body: m.Body, MessageID: m.ID}
	if len(m.Attributes) > 0 {
		rec.Attributes = make(map[string]Attr, len(m.Attributes))
		for k, a := range m.Attributes {
			rec.Attributes[k] = Attr(a)
		}
	}
	if !m.SentAt.IsZero() {
		t := m.SentAt
		rec.SentAt = &t
	}
	return rec
}

// Message is the record as the message to send.
func (r Record) Message() message.Message {
	attrs := make(map[string]message.Attribute, len(r.Attributes))
	for k, a := range r.Attributes {
		attrs[k] = message.Attribute(a)
	}
	return message.Message{Body: r.Body, Attributes: attrs}
}

// maxLine bounds one line of an import file: an SQS message is at most
// message.MaxRequestBytes, which JSON escaping can grow up to six times.
const maxLine = 6*message.MaxRequestBytes + 64<<10

// ParseRecord parses one line of an import file and checks that it is a
// message SQS accepts (message.Message.Validate): a non-empty body of
// allowed characters, at most message.MaxAttributes attributes of valid
// names, types and values, at most message.MaxRequestBytes in all. Its
// errors say what is wrong, without the line number.
func ParseRecord(line []byte) (Record, error) {
	var raw struct {
		Body       *string         `json:"body"`
		Attributes map[string]Attr `json:"attributes"`
	}
	if err := json.Unmarshal(line, &raw); err != nil {
		return Record{}, fmt.Errorf("%w (want {\"body\": \"...\", \"attributes\": {\"name\": {\"type\": \"String\", \"value\": \"...\"}}})", err)
	}
	switch {
	case raw.Body == nil:
		return Record{}, errors.New("no \"body\" (the raw message body, a string)")
	case *raw.Body == "":
		return Record{}, errors.New("empty body (SQS refuses it)")
	case len(raw.Attributes) > message.MaxAttributes:
		return Record{}, fmt.Errorf("%d attributes, SQS allows %d", len(raw.Attributes), message.MaxAttributes)
	}
	rec := Record{Body: *raw.Body, Attributes: raw.Attributes}
	if err := rec.Message().Validate(); err != nil {
		return Record{}, err
	}
	return rec, nil
}

// ReadRecords reads and checks a JSON Lines file (ParseRecord); an error
// names the line.
func ReadRecords(r io.Reader) ([]Record, error) {
	var recs []Record
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxLine)
	n := 0
	for sc.Scan() {
		n++
		line := sc.Bytes()
		if len(bytesTrim(line)) == 0 {
			continue
		}
		rec, err := ParseRecord(line)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		rec.Line = n
		recs = append(recs, rec)
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, fmt.Errorf("line %d: longer than %d bytes, more than any message SQS accepts", n+1, maxLine)
		}
		return nil, fmt.Errorf("read: %w", err)
	}
	return recs, nil
}

func bytesTrim(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t' || b[0] == '\r') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}

// MarkImported gives a message without a dlq_reason the reason
// message.ReasonImported and detail (when there is room for it), so stats
// and peek do not take it for one the redrive policy moved. ok is false
// when it has no reason and SQS's limits leave no room for one.
func MarkImported(m message.Message, detail string) (out message.Message, ok bool) {
	if m.Text(message.AttrDLQReason) != "" {
		return m, true
	}
	attrs := make(map[string]message.Attribute, len(m.Attributes)+2)
	for k, a := range m.Attributes {
		attrs[k] = a
	}
	out = message.Message{Body: m.Body, Attributes: attrs}
	attrs[message.AttrDLQReason] = message.String(message.ReasonImported)
	if len(attrs) > message.MaxAttributes || out.Size() > message.MaxRequestBytes {
		return m, false
	}
	if len(detail) > message.MaxDetailBytes {
		detail = detail[:message.MaxDetailBytes]
	}
	attrs[message.AttrDLQDetail] = message.String(detail)
	if len(attrs) > message.MaxAttributes || out.Size() > message.MaxRequestBytes || out.Validate() != nil {
		delete(attrs, message.AttrDLQDetail)
	}
	return out, true
}
