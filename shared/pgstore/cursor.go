package pgstore

import (
	"encoding/base64"
	"strings"
	"time"

	"github.com/numbers-app/numbers/shared/number"
)

// maxCursorLen bounds what decodeCursor reads: a cursor this store writes is
// under 90 characters.
const maxCursorLen = 256

// encodeCursor writes the position after (at, id) as base64url of
// "<RFC 3339 time in UTC>|<canonical UUID>".
func encodeCursor(at time.Time, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(at.UTC().Format(time.RFC3339Nano) + "|" + id))
}

// decodeCursor accepts exactly the cursors encodeCursor can write for a
// stored row, and so only values Postgres accepts as they are: a canonical
// lower-case UUID (the UUID library also reads urn:uuid:, braces and
// capitals, some of which Postgres refuses), a time in UTC to the
// microsecond within number.MinTime..MaxTime (Go's RFC 3339 parser also
// reads year 0000 and offsets that move a time out of that range). Anything
// else is a *number.Error (number.CodeCursor).
func decodeCursor(c string) (time.Time, string, error) {
	bad := func(why string) error {
		return number.Invalidf(number.CodeCursor, "cursor %.64q is not one this API returned (%s): start again without a cursor", c, why)
	}
	if len(c) > maxCursorLen {
		return time.Time{}, "", bad("too long")
	}
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return time.Time{}, "", bad("not base64url")
	}
	ts, id, ok := strings.Cut(string(raw), "|")
	if !ok {
		return time.Time{}, "", bad("no separator")
	}
	if !number.ValidID(id) {
		return time.Time{}, "", bad("its id is not a canonical UUID")
	}
	at, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil {
		return time.Time{}, "", bad("its time is not RFC 3339")
	}
	if number.CheckTime(at) != nil {
		return time.Time{}, "", bad("its time is out of range")
	}
	if !at.Equal(number.Truncate(at)) || encodeCursor(at, id) != c {
		return time.Time{}, "", bad("not in the form this API writes")
	}
	return at, id, nil
}
