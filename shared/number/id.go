package number

import (
	"time"
)

// IDs and times a client sends back (a number's id, a list cursor) are
// checked against the one form this service writes, which is also a form
// every store accepts: the UUID library and Go's RFC 3339 parser read more
// (urn:uuid:, braces, capitals; year 0000), and Postgres refuses some of it.

// ValidID reports whether s is a UUID in canonical form: 36 characters,
// lower-case hexadecimal digits with hyphens at offsets 8, 13, 18 and 23,
// as uuid.UUID.String writes it. No other spelling is accepted.
func ValidID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
				return false
			}
		}
	}
	return true
}

// CheckID returns an *Error (CodeID) naming s when it is not ValidID.
func CheckID(s string) error {
	if !ValidID(s) {
		return Invalidf(CodeID, "id %.48q is not a UUID in canonical lower-case form (like 0190f5c4-7d3a-7b2e-9c1d-2a3b4c5d6e7f)", s)
	}
	return nil
}

// The range of times a store keeps: the years RFC 3339 can write (four
// digits) without year 0, which Postgres' timestamptz (4713 BC to 294276
// AD) refuses in the form drivers write it ("0000-…").
var (
	MinTime = time.Date(1, time.January, 1, 0, 0, 0, 0, time.UTC)
	MaxTime = time.Date(9999, time.December, 31, 23, 59, 59, 999999000, time.UTC)
)

// CheckTime returns an *Error (CodeTime) when t is outside [MinTime, MaxTime].
func CheckTime(t time.Time) error {
	if t.Before(MinTime) || t.After(MaxTime) {
		return Invalidf(CodeTime, "time %s is outside %s to %s", t.UTC().Format(time.RFC3339Nano),
			MinTime.Format(time.RFC3339Nano), MaxTime.Format(time.RFC3339Nano))
	}
	return nil
}
