// Package number is the domain of numbers: the Number a client submits, how its
// value is validated, the errors the edges translate, and the interfaces they need.
// It imports only the standard library.
package number

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Sentinel errors for domain outcomes. Adapters wrap their driver errors in
// these so the HTTP edge can map them to status codes without knowing drivers.
var (
	// ErrInvalid marks input that can never succeed: retrying will not help.
	ErrInvalid = errors.New("invalid")
	// ErrNotFound is returned when a number with the given id is not stored.
	ErrNotFound = errors.New("not found")
	// ErrUnavailable marks a dependency (queue, database) that is down or
	// failing; the caller may retry later.
	ErrUnavailable = errors.New("unavailable")
	// ErrOverloaded is returned when the service sheds load instead of queueing
	// without bound; the caller may retry shortly.
	ErrOverloaded = errors.New("overloaded")
	// ErrKeyReused is returned when an idempotency key comes back with a
	// different value than the one it was first used with.
	ErrKeyReused = errors.New("idempotency key reused")
)

// Submission is a number accepted by the proxy and not yet stored. ID is
// assigned by the producer (a UUIDv7) and is the idempotency key end to end.
type Submission struct {
	ID         string
	Value      int64
	AcceptedAt time.Time
	RequestID  string
}

// Number is a stored submission.
type Number struct {
	ID         string
	Value      int64
	AcceptedAt time.Time
	StoredAt   time.Time
}

// Page asks for one page of numbers, newest first. Cursor is opaque and empty
// for the first page.
type Page struct {
	Limit  int
	Cursor string
}

// Limits for Page.Limit.
const (
	DefaultPageLimit = 50
	MaxPageLimit     = 500
)

// DefaultKeyWindow is how long an idempotency key stays bound to its
// submission (IDEMPOTENCY_WINDOW): the proxy honours keys this long and the
// worker prunes older ones.
const DefaultKeyWindow = 24 * time.Hour

// Enqueuer hands a submission to the queue. It returns only once the queue
// has acknowledged it: a nil error is the promise behind a 202.
type Enqueuer interface {
	// Enqueue returns nil once the queue holds s. Errors: ErrUnavailable
	// (the queue is down or refused to answer; nothing was queued, retry
	// later), ErrOverloaded (too many enqueues in flight; retry shortly),
	// the ctx error when ctx ends first; anything else is a bug.
	Enqueue(ctx context.Context, s Submission) error
}

// Reader reads stored numbers.
type Reader interface {
	// Get returns the number stored with id. Errors: ErrInvalid (an *Error
	// with CodeID: id is not a canonical UUID), ErrNotFound (no number with
	// this id is stored, or not yet), ErrUnavailable (the store is down;
	// retry later), the ctx error when ctx ends first.
	Get(ctx context.Context, id string) (Number, error)
	// List returns one page, newest first, and the cursor of the next page
	// ("" when there is none). Errors: ErrInvalid (an *Error with
	// CodeCursor: p.Cursor is not one List returned), ErrUnavailable, the
	// ctx error when ctx ends first.
	List(ctx context.Context, p Page) ([]Number, string, error)
}

// Writer stores submissions idempotently: storing the same ID twice stores
// one row. It returns how many rows were new.
type Writer interface {
	// Insert stores subs in one statement: all or none. Errors:
	// ErrInvalid (an *Error with CodeRefused: the database refused a value,
	// so retrying the same batch cannot succeed), ErrUnavailable (the store
	// is down, read-only or failing over; retry later), the ctx error when
	// ctx ends first.
	Insert(ctx context.Context, subs []Submission) (int, error)
}

// KeyStore binds client idempotency keys to submissions, shared by every
// proxy instance.
type KeyStore interface {
	// Claim returns the submission bound to key: sub itself when the key is
	// new or older than window (replayed false), else the first one
	// (replayed true). Errors: ErrKeyReused (the key is bound to another
	// value), ErrInvalid (an *Error: the database refused a value),
	// ErrUnavailable (the store is down; retry later), the ctx error when
	// ctx ends first.
	Claim(ctx context.Context, key string, sub Submission, window time.Duration) (bound Submission, replayed bool, err error)
}

// DepthFunc reads a queue's approximate counters: messages visible (waiting)
// and in flight (received, not yet deleted). A reader that gets an error
// leaves the queue's figures out.
type DepthFunc func(ctx context.Context) (visible, inFlight int, err error)

// Figures are what the store says about itself for operators (GET
// /api/stats), read cheaply.
type Figures struct {
	// Count of stored numbers; Exact is false when it is the planner's
	// estimate (large tables, where counting would be slow).
	Count int64
	Exact bool
	// NewestAcceptedAt is the accepted_at of the newest stored number (zero
	// when none is stored).
	NewestAcceptedAt time.Time
	// RecentLag is the median of stored_at - accepted_at over the numbers
	// accepted in the last minute (at most the newest 1000 of them);
	// RecentSamples how many there were (0: no recent numbers, no lag).
	RecentLag     time.Duration
	RecentSamples int
}

// Truncate gives t the precision every store and event keeps (microseconds,
// UTC), so a submission round-trips through JSON and Postgres unchanged.
func Truncate(t time.Time) time.Time {
	return t.UTC().Truncate(time.Microsecond)
}

// ParseDecimal parses the canonical decimal form of an int64: an optional
// leading ASCII hyphen-minus ('-') and digits, no leading zeros, no plus
// sign, no spaces, no "-0". This is the form a client's text box or a JSON
// number without fraction or exponent carries. The typographic minus U+2212
// is refused with a message that names the ASCII one.
func ParseDecimal(s string) (int64, error) {
	if err := checkCanonical(s); err != nil {
		return 0, err
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		// Only range errors remain after the syntax check.
		return 0, errOutOfRange(s)
	}
	return v, nil
}

// Range is the accepted range as messages write it.
const Range = "[-9223372036854775808, 9223372036854775807]"

// errOutOfRange is the one message for every value beyond int64, whatever
// its length; a value too long to echo is cut, and the cut is marked.
func errOutOfRange(s string) error {
	const echo = 40
	if len(s) > echo {
		s = fmt.Sprintf("%s… (%d characters)", s[:echo], len(s))
	}
	return Invalidf(CodeValue, "%s is out of the int64 range %s", s, Range)
}

func checkCanonical(s string) error {
	if strings.HasPrefix(s, "\u2212") {
		return Invalidf(CodeValue, "write the minus sign as the ASCII hyphen-minus '-', not the typographic minus U+2212, got %q", s)
	}
	digits := s
	if len(digits) > 0 && digits[0] == '-' {
		digits = digits[1:]
	}
	if digits == "" {
		return Invalidf(CodeValue, "must be an integer, got %q", s)
	}
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return Invalidf(CodeValue, "must be an integer: digits only, with an optional leading '-' (no fraction, exponent, '+' or spaces), got %q", s)
		}
	}
	if digits[0] == '0' && (len(digits) > 1 || len(s) > 1) {
		return Invalidf(CodeValue, "must be written without leading zeros or a negative zero, got %q", s)
	}
	// Longer than any int64 can be: reject before parsing a huge string.
	if len(digits) > 19 {
		return errOutOfRange(s)
	}
	return nil
}
