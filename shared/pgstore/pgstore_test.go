package pgstore_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/numbers-app/numbers/shared/number"
	"github.com/numbers-app/numbers/shared/pgstore"
	"github.com/numbers-app/numbers/shared/testenv"
)

func sub(v int64, at time.Time) number.Submission {
	return number.Submission{ID: uuid.Must(uuid.NewV7()).String(), Value: v, AcceptedAt: at}
}

func TestInsertStoresEachIDOnce(t *testing.T) {
	t.Parallel()
	s := testenv.Store(t)
	ctx := context.Background()
	now := time.Now()
	a, b := sub(math.MaxInt64, now), sub(math.MinInt64, now)

	n, err := s.Insert(ctx, []number.Submission{a, b, a})
	require.NoError(t, err)
	assert.Equal(t, 2, n, "a repeated id within one batch is stored once")

	n, err = s.Insert(ctx, []number.Submission{a, b})
	require.NoError(t, err)
	assert.Equal(t, 0, n, "a redelivered batch stores nothing")

	count, err := s.Count(ctx)
	require.NoError(t, err)
	assert.Equal(t, 2, count)

	got, err := s.Get(ctx, a.ID)
	require.NoError(t, err)
	assert.Equal(t, int64(math.MaxInt64), got.Value, "int64 extremes round-trip exactly")
	assert.Equal(t, number.Truncate(now), got.AcceptedAt)
	assert.False(t, got.StoredAt.IsZero(), "stored_at is set by the database")
}

func TestGetReportsMissingAndMalformedIDs(t *testing.T) {
	t.Parallel()
	s := testenv.Store(t)
	_, err := s.Get(context.Background(), uuid.NewString())
	assert.ErrorIs(t, err, number.ErrNotFound)
	_, err = s.Get(context.Background(), "not-a-uuid")
	assert.ErrorIs(t, err, number.ErrInvalid)
}

// The ids the UUID library reads but that are not the canonical form are
// refused before Postgres sees them (it refuses urn:uuid: with SQLSTATE
// 22P02 and reads the others as the canonical id).
func TestGetRefusesEveryNonCanonicalSpellingOfAnID(t *testing.T) {
	t.Parallel()
	s := testenv.Store(t)
	ctx := context.Background()
	stored := sub(1, time.Now())
	_, err := s.Insert(ctx, []number.Submission{stored})
	require.NoError(t, err)
	id := stored.ID
	got, err := s.Get(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, id, got.ID)
	for _, bad := range []string{"urn:uuid:" + id, "URN:UUID:" + id, "{" + id + "}", "{" + strings.ToUpper(id) + "}",
		strings.ToUpper(id), strings.ReplaceAll(id, "-", ""), id[:35] + "\x00", ""} {
		_, err := s.Get(ctx, bad)
		assert.ErrorIs(t, err, number.ErrInvalid, "%q", bad)
	}
}

func TestListPagesNewestFirstWithoutGapsOrRepeats(t *testing.T) {
	t.Parallel()
	s := testenv.Store(t)
	ctx := context.Background()
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var subs []number.Submission
	for i := 0; i < 23; i++ {
		// Pairs share a timestamp so the id breaks ties.
		subs = append(subs, sub(int64(i), base.Add(time.Duration(i/2)*time.Second)))
	}
	_, err := s.Insert(ctx, subs)
	require.NoError(t, err)

	var seen []number.Number
	cursor := ""
	for pages := 0; ; pages++ {
		require.Less(t, pages, 10, "pagination terminates")
		page, next, err := s.List(ctx, number.Page{Limit: 5, Cursor: cursor})
		require.NoError(t, err)
		seen = append(seen, page...)
		if next == "" {
			break
		}
		cursor = next
	}
	require.Len(t, seen, 23)
	ids := map[string]bool{}
	for i, n := range seen {
		assert.False(t, ids[n.ID], "no repeats")
		ids[n.ID] = true
		if i > 0 {
			prev := seen[i-1]
			newer := prev.AcceptedAt.After(n.AcceptedAt) || (prev.AcceptedAt.Equal(n.AcceptedAt) && prev.ID > n.ID)
			assert.True(t, newer, "row %d is older than row %d", i, i-1)
		}
	}

	_, _, err = s.List(ctx, number.Page{Limit: 5, Cursor: "garbage!"})
	assert.ErrorIs(t, err, number.ErrInvalid)
}

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

func TestMigrateIsSafeWhenManyProcessesStartAtOnce(t *testing.T) {
	t.Parallel()
	url := testenv.DatabaseURL(t)
	var wg sync.WaitGroup
	errs := make(chan error, 6)
	applied := make(chan int, 6)
	for i := 0; i < 6; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := pgstore.Open(pgstore.Config{URL: url})
			if err != nil {
				errs <- err
				return
			}
			defer s.Close()
			names, err := s.Migrate(context.Background())
			errs <- err
			applied <- len(names)
		}()
	}
	wg.Wait()
	close(errs)
	close(applied)
	for err := range errs {
		require.NoError(t, err)
	}
	total := 0
	for n := range applied {
		total += n
	}
	assert.Equal(t, 3, total, "each of the three migrations was applied by exactly one process")
}

func TestUnreachableDatabaseIsUnavailable(t *testing.T) {
	t.Parallel()
	s, err := pgstore.Open(pgstore.Config{URL: "postgres://postgres@127.0.0.1:1/none?sslmode=disable", DialTimeout: time.Second})
	require.NoError(t, err)
	defer s.Close()
	err = s.Ping(context.Background())
	assert.ErrorIs(t, err, number.ErrUnavailable)
	_, err = s.Insert(context.Background(), []number.Submission{sub(1, time.Now())})
	assert.ErrorIs(t, err, number.ErrUnavailable)
}

func TestWritableTellsAReadOnlyDatabaseFromAWritableOne(t *testing.T) {
	t.Parallel()
	dbURL := testenv.DatabaseURL(t)
	store := testenv.StoreAt(t, dbURL)
	ctx := context.Background()
	require.NoError(t, store.Writable(ctx), "a fresh database accepts writes")

	testenv.SetReadOnly(t, dbURL)

	ro, err := pgstore.Open(pgstore.Config{URL: dbURL})
	require.NoError(t, err)
	t.Cleanup(func() { ro.Close() })
	require.NoError(t, ro.Ping(ctx), "a read-only database answers pings")
	err = ro.Writable(ctx)
	require.Error(t, err)
	assert.ErrorIs(t, err, number.ErrUnavailable)
	assert.ErrorIs(t, err, pgstore.ErrReadOnly)
	_, insertErr := ro.Insert(ctx, []number.Submission{{ID: "0190f5c4-7d3a-7b2e-9c1d-0000000000aa", Value: 1, AcceptedAt: time.Now()}})
	require.Error(t, insertErr, "and it does refuse the insert")
}

func TestWritableWrapsAnUnreachableServerAsUnavailable(t *testing.T) {
	t.Parallel()
	s, err := pgstore.Open(pgstore.Config{URL: "postgres://postgres@127.0.0.1:1/none?sslmode=disable"})
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	assert.ErrorIs(t, s.Writable(ctx), number.ErrUnavailable)
}

func TestConfigValidateNamesTheField(t *testing.T) {
	for _, tc := range []struct {
		cfg  pgstore.Config
		want string
	}{
		{pgstore.Config{}, "URL is required"},
		{pgstore.Config{URL: "mysql://x"}, "postgres://"},
		{pgstore.Config{URL: "postgres://u@db:notaport/x?sslmode=bogus"}, "URL"},
	} {
		_, err := pgstore.Open(tc.cfg)
		require.Error(t, err)
		assert.Contains(t, err.Error(), tc.want, fmt.Sprint(tc.cfg))
	}
}
