package dlq

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/numbers-app/numbers/events"
	"github.com/numbers-app/numbers/shared/message"
)

// Filter selects messages. The zero Filter matches everything.
//
// Syntax: terms separated by commas, all of which must hold (AND). A term is
// KEY OP VALUE with
//
//	KEY   reason (the dlq_reason attribute), body, id (the message id),
//	      request_id (the request_id attribute, or, for an aggregated
//	      message, the request id of any of its events: = and ~ hold
//	      when one matches, != when none does),
//	      or attr.NAME (any message attribute, e.g. attr.request_id)
//	OP    =  equals,  != differs,  ~ contains
//
// Examples: `reason=unknown_version`, `request_id=abc`,
// `body~"version":2`, `reason=malformed,attr.replay_count!=2`.
// Values cannot contain commas. A missing attribute is the empty string.
type Filter struct {
	terms []term
	src   string
}

type term struct {
	key, op, value string
}

// ParseFilter parses a filter expression; "" matches everything.
func ParseFilter(expr string) (Filter, error) {
	f := Filter{src: expr}
	if strings.TrimSpace(expr) == "" {
		return f, nil
	}
	for _, part := range strings.Split(expr, ",") {
		part = strings.TrimSpace(part)
		i := strings.IndexAny(part, "=!~")
		if i <= 0 {
			return Filter{}, fmt.Errorf("filter term %q: want KEY=VALUE, KEY!=VALUE or KEY~SUBSTRING", part)
		}
		t := term{key: strings.TrimSpace(part[:i])}
		switch {
		case part[i] == '!' && strings.HasPrefix(part[i:], "!="):
			t.op, t.value = "!=", part[i+2:]
		case part[i] == '!':
			return Filter{}, fmt.Errorf("filter term %q: '!' must be followed by '='", part)
		default:
			t.op, t.value = part[i:i+1], part[i+1:]
		}
		switch {
		case t.key == "reason" || t.key == "body" || t.key == "id" || t.key == "request_id":
		case strings.HasPrefix(t.key, "attr.") && len(t.key) > len("attr."):
		default:
			return Filter{}, fmt.Errorf("filter term %q: unknown key %q (want reason, body, id, request_id or attr.NAME)", part, t.key)
		}
		f.terms = append(f.terms, t)
	}
	return f, nil
}

// Empty reports whether the filter matches everything.
func (f Filter) Empty() bool { return len(f.terms) == 0 }

// String returns the expression it was parsed from.
func (f Filter) String() string { return f.src }

// Match reports whether a message passes every term. Attributes are
// compared by their text; a Binary attribute reads as "".
func (f Filter) Match(m message.Message) bool {
	for _, t := range f.terms {
		var vs []string
		switch t.key {
		case "reason":
			vs = []string{m.Text(message.AttrDLQReason)}
		case "body":
			vs = []string{m.Body}
		case "id":
			vs = []string{m.ID}
		case "request_id":
			vs = requestIDs(m)
		default:
			vs = []string{m.Text(strings.TrimPrefix(t.key, "attr."))}
		}
		var ok bool
		switch t.op {
		case "=":
			ok = slices.Contains(vs, t.value)
		case "!=":
			ok = !slices.Contains(vs, t.value)
		case "~":
			ok = slices.ContainsFunc(vs, func(v string) bool { return strings.Contains(v, t.value) })
		}
		if !ok {
			return false
		}
	}
	return true
}

// requestIDs are the request ids m carries: its request_id attribute
// (empty when it has none) and, when its body is an aggregate (a JSON
// array, events.Aggregate), each event's request_id. The queue's redrive
// policy moves an aggregate whole, and an aggregate's attributes carry no
// request id.
func requestIDs(m message.Message) []string {
	ids := []string{m.Text(events.AttrRequestID)}
	if events.Count(m) < 2 && !events.IsAggregate(m.Body) {
		return ids
	}
	var evs []struct {
		RequestID string `json:"request_id"`
	}
	if json.Unmarshal([]byte(m.Body), &evs) == nil {
		for _, ev := range evs {
			ids = append(ids, ev.RequestID)
		}
	}
	return ids
}
