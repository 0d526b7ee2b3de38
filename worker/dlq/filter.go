package dlq

import (
	"fmt"
	"strings"

	"github.com/numbers-app/numbers/shared/message"
)

// Filter selects messages. The zero Filter matches everything.
//
// Syntax: terms separated by commas, all of which must hold (AND). A term is
// KEY OP VALUE with
//
//	KEY   reason (the dlq_reason attribute), body, id (the message id),
//	      or attr.NAME (any message attribute, e.g. attr.request_id)
//	OP    =  equals,  != differs,  ~ contains
//
// Examples: `reason=unknown_version`, `attr.request_id=abc`,
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
		case t.key == "reason" || t.key == "body" || t.key == "id":
		case strings.HasPrefix(t.key, "attr.") && len(t.key) > len("attr."):
		default:
			return Filter{}, fmt.Errorf("filter term %q: unknown key %q (want reason, body, id or attr.NAME)", part, t.key)
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
		var v string
		switch t.key {
		case "reason":
			v = m.Text(message.AttrDLQReason)
		case "body":
			v = m.Body
		case "id":
			v = m.ID
		default:
			v = m.Text(strings.TrimPrefix(t.key, "attr."))
		}
		var ok bool
		switch t.op {
		case "=":
			ok = v == t.value
		case "!=":
			ok = v != t.value
		case "~":
			ok = strings.Contains(v, t.value)
		}
		if !ok {
			return false
		}
	}
	return true
}
