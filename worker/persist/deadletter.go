package persist

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/numbers-app/numbers/events"
	"github.com/numbers-app/numbers/shared/message"
)

// DeadLetterer sends messages to the dead-letter queue (sqsqueue.Queue).
// It returns the indexes it could not send, and an error that says why:
// each failure wraps number.ErrUnavailable (the DLQ is down, throttled, or
// did not report the entry) or message.ErrRefused (SQS refuses the
// message's content).
type DeadLetterer interface {
	SendBatch(ctx context.Context, msgs []message.Message) ([]int, error)
}

// ErrDeadLetter marks the part of a Result's error that is about the
// dead-letter queue, not the database: poison messages that could not be
// moved stay in the main queue (Failed) and are tried again; the queue's
// redrive policy moves them, without a reason, if that keeps failing.
// errors.As with *DeadLetterError tells which messages of the batch.
var ErrDeadLetter = errors.New("dead-letter queue did not take poison messages")

// DeadLetterError is the error for poison messages the dead-letter queue
// did not take. It matches ErrDeadLetter and wraps the queue's error
// (number.ErrUnavailable or message.ErrRefused per message).
type DeadLetterError struct {
	// Failed are the indexes, in the batch given to Process, of the poison
	// messages left in the main queue; they are also in Result.Failed.
	Failed []int
	// NotMoved is how many dead letters the queue did not take, of Of: a
	// letter is a poison message, or one poison event of an aggregate.
	NotMoved, Of int
	// Err is the queue's error; nil when it gave none.
	Err error
}

func (e *DeadLetterError) Error() string {
	msg := fmt.Sprintf("%v: %d of %d", ErrDeadLetter, e.NotMoved, e.Of)
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap makes errors.Is(err, ErrDeadLetter) true, and the queue's
// classification visible.
func (e *DeadLetterError) Unwrap() []error {
	if e.Err == nil {
		return []error{ErrDeadLetter}
	}
	return []error{ErrDeadLetter, e.Err}
}

// keptFirst are the original attributes that survive when SQS's limits
// force some out: the replay count (so replays stay capped) and the
// correlation ids.
var keptFirst = []string{message.AttrReplayCount, events.AttrRequestID, events.AttrEventType, events.AttrEventVersion}

// deadLetter is m as it goes to the dead-letter queue: the same body, its
// attributes with their types, and the reason attributes. It stays within
// SQS's limits of message.MaxAttributes attributes and
// message.MaxRequestBytes: when the original is near the size limit it
// trims the detail, then drops the original attributes not in keptFirst,
// then the optional dlq_* attributes; the body and dlq_reason are never
// dropped.
func (p *Persister) deadLetter(m message.Message, reason, detail string) message.Message {
	ours := map[string]message.Attribute{
		message.AttrDLQReason:    message.String(cleanText(reason, message.MaxDetailBytes)),
		message.AttrDLQDetail:    message.String(cleanText(detail, message.MaxDetailBytes)),
		message.AttrDLQFailedAt:  message.String(p.Now().UTC().Format(time.RFC3339Nano)),
		message.AttrDLQMessageID: message.String(m.ID),
	}
	rest := make([]string, 0, len(m.Attributes))
	for k := range m.Attributes {
		if !slices.Contains(keptFirst, k) {
			rest = append(rest, k)
		}
	}
	sort.Strings(rest)
	var order []string // original attributes carried over, most useful first
	for _, k := range append(slices.Clone(keptFirst), rest...) {
		if _, ok := m.Attributes[k]; !ok {
			continue
		}
		if _, mine := ours[k]; mine {
			continue
		}
		order = append(order, k)
	}
	build := func(keep int) message.Message {
		attrs := make(map[string]message.Attribute, len(ours)+keep)
		for k, a := range ours {
			if a.StringValue != "" {
				attrs[k] = a
			}
		}
		for _, k := range order[:keep] {
			if len(attrs) == message.MaxAttributes {
				break
			}
			attrs[k] = m.Attributes[k]
		}
		return message.Message{Body: m.Body, Attributes: attrs}
	}
	keep := len(order)
	out := build(keep)
	if out.Size() <= message.MaxRequestBytes {
		return out
	}
	// Near the limit: shed what matters least until it fits.
	over := out.Size() - message.MaxRequestBytes
	d := ours[message.AttrDLQDetail].StringValue
	ours[message.AttrDLQDetail] = message.String(cleanText(d, max(len(d)-over, 0)))
	// order puts keptFirst first: the others go before the correlation
	// ids, and the replay count goes last.
	for out = build(keep); out.Size() > message.MaxRequestBytes && keep > 0; out = build(keep) {
		keep--
	}
	for _, k := range []string{message.AttrDLQDetail, message.AttrDLQMessageID, message.AttrDLQFailedAt} {
		if out.Size() <= message.MaxRequestBytes {
			break
		}
		delete(ours, k)
		out = build(keep)
	}
	return out
}

// cleanText makes s safe as an SQS attribute value of at most n bytes:
// characters SQS refuses become U+FFFD, and a cut never splits a character.
func cleanText(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if message.CheckText(string(r)) != nil {
			return utf8.RuneError
		}
		return r
	}, strings.ToValidUTF8(s, string(utf8.RuneError)))
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}

// sendDeadLetters sends the dead letters of a batch's poison messages and
// events; letterOf[k] is the index in the batch of the message letters[k]
// comes from. It returns how many letters the DLQ took and the indexes of
// the messages (ascending, each once) with a letter it did not take: those
// stay in the main queue, whole. Nothing counts as moved that the DLQ did
// not report as taken. A failure gets its own log line and an error
// wrapping ErrDeadLetter (a *DeadLetterError, with the adapter's
// classification), so it is not taken for a database problem.
func (p *Persister) sendDeadLetters(ctx context.Context, letters []message.Message, letterOf []int) (moved int, failed []int, err error) {
	notSent, sendErr := p.DLQ.SendBatch(ctx, letters)
	if sendErr != nil && len(notSent) == 0 {
		notSent = make([]int, len(letters)) // an error without indexes: nothing is known to be sent
		for k := range notSent {
			notSent[k] = k
		}
	}
	bad := make(map[int]bool, len(notSent))
	for _, k := range notSent {
		bad[k] = true
	}
	for k, i := range letterOf {
		if !bad[k] {
			moved++
		} else if !slices.Contains(failed, i) {
			failed = append(failed, i)
		}
	}
	sort.Ints(failed)
	if len(failed) > 0 {
		err = &DeadLetterError{Failed: failed, NotMoved: len(bad), Of: len(letters), Err: sendErr}
		p.Log.Error().Err(err).Int("not_moved", len(bad)).
			Msg("dead-letter queue unavailable: poison messages stay in the main queue and are tried again")
	}
	return moved, failed, err
}
