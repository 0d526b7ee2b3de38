package pgstore_test

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/numbers-app/numbers/shared/number"
	"github.com/numbers-app/numbers/shared/pgstore"
	"github.com/numbers-app/numbers/shared/testenv"
)

func rawCursor(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func TestDecodeCursorAcceptsExactlyWhatEncodeCursorWrites(t *testing.T) {
	t.Parallel()
	id := "0190f5c4-7d3a-7b2e-9c1d-2a3b4c5d6e7f"
	for _, at := range []time.Time{number.MinTime, number.MaxTime, time.Date(2026, 11, 27, 8, 0, 0, 123456000, time.UTC),
		time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)} {
		c := pgstore.EncodeCursor(at, id)
		gotAt, gotID, err := pgstore.DecodeCursor(c)
		require.NoError(t, err, at)
		assert.True(t, at.Equal(gotAt), at)
		assert.Equal(t, id, gotID)
	}
	for name, c := range map[string]string{
		"year 0000":             rawCursor("0000-01-01T00:00:00Z|" + id),
		"year 1 east of UTC":    rawCursor("0001-01-01T00:00:00+01:00|" + id),
		"year 9999 west of UTC": rawCursor("9999-12-31T23:59:59-23:59|" + id),
		"an offset":             rawCursor("2026-11-27T09:00:00+01:00|" + id),
		"nanoseconds":           rawCursor("2026-11-27T08:00:00.123456789Z|" + id),
		"a urn:uuid: id":        rawCursor("2026-11-27T08:00:00Z|urn:uuid:" + id),
		"a braced id":           rawCursor("2026-11-27T08:00:00Z|{" + id + "}"),
		"a capital id":          rawCursor("2026-11-27T08:00:00Z|" + strings.ToUpper(id)),
		"padding":               base64.URLEncoding.EncodeToString([]byte("2026-11-27T08:00:00Z|" + id + "x")),
		"too long":              strings.Repeat("A", 10_000),
		"empty after decoding":  "",
		"no separator":          rawCursor("2026-11-27T08:00:00Z" + id),
	} {
		_, _, err := pgstore.DecodeCursor(c)
		assert.ErrorIs(t, err, number.ErrInvalid, name)
	}
}

// FuzzListCursor sends any cursor to the real Postgres through Store.List:
// it is either refused as ErrInvalid before any query, or it is exactly a
// cursor the store writes and Postgres answers the query. Never another
// error (which the HTTP edge would answer with a 500). Each input is tried
// as a cursor and, so that the fuzzer explores what lies under the base64,
// as a cursor's decoded text.
func FuzzListCursor(f *testing.F) {
	id := "0190f5c4-7d3a-7b2e-9c1d-2a3b4c5d6e7f"
	for _, s := range []string{
		"2026-11-27T08:00:00.123456Z|" + id, "0000-01-01T00:00:00Z|" + id, "0001-01-01T00:00:00Z|" + id,
		"9999-12-31T23:59:59.999999Z|" + id, "9999-12-31T23:59:59-23:59|" + id, "2026-11-27T08:00:00Z|urn:uuid:" + id,
		"2026-11-27T08:00:00Z|{" + strings.ToUpper(id) + "}", "2026-11-27T08:00:00.123456789Z|" + id,
		rawCursor("2026-11-27T08:00:00Z|" + id), "garbage!", "",
	} {
		f.Add(s)
	}
	s := testenv.Store(f)
	ctx := context.Background()
	_, err := s.Insert(ctx, []number.Submission{{ID: id, Value: 1, AcceptedAt: time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)}})
	require.NoError(f, err)
	f.Fuzz(func(t *testing.T, in string) {
		for _, c := range []string{in, rawCursor(in)} {
			at, gotID, decodeErr := pgstore.DecodeCursor(c)
			_, _, listErr := s.List(ctx, number.Page{Limit: 1, Cursor: c})
			if decodeErr != nil {
				if !errors.Is(decodeErr, number.ErrInvalid) {
					t.Fatalf("cursor %q: %v is not ErrInvalid", c, decodeErr)
				}
				if c != "" && !errors.Is(listErr, number.ErrInvalid) {
					t.Fatalf("cursor %q: List answered %v, want ErrInvalid", c, listErr)
				}
				continue
			}
			if listErr != nil {
				t.Fatalf("cursor %q decodes to (%s, %s) but Postgres refused it: %v", c, at, gotID, listErr)
			}
			if !number.ValidID(gotID) || number.CheckTime(at) != nil || pgstore.EncodeCursor(at, gotID) != c {
				t.Fatalf("cursor %q decodes to (%s, %q), which the store would not write", c, at, gotID)
			}
		}
	})
}
