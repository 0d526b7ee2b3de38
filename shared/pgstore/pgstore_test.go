package pgstore_test

import (
	"context"
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
