package pgstore

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/numbers-app/numbers/shared/number"
	"github.com/numbers-app/numbers/shared/testenv/hung"
)

// adminDB connects to the test cluster's admin database (this internal
// test cannot use testenv, which imports this package).
func adminDB(t *testing.T) (*sql.DB, string) {
	t.Helper()
	u := os.Getenv("NUMBERS_TEST_DATABASE_URL")
	if u == "" {
		t.Fatal("NUMBERS_TEST_DATABASE_URL is not set: run the tests with `make test`")
	}
	c, err := newConnector(Config{URL: u}.withDefaults())
	require.NoError(t, err)
	db := sql.OpenDB(c)
	t.Cleanup(func() { db.Close() })
	return db, u
}

func raise(code string) string {
	return `DO $$ BEGIN RAISE EXCEPTION 'raised for the test' USING ERRCODE = '` + code + `'; END $$`
}

func TestEveryPostgresErrorIsClassifiedOnce(t *testing.T) {
	t.Parallel()
	db, admin := adminDB(t)
	ctx := context.Background()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	role := "nolimit_" + hex.EncodeToString(b)
	_, err := db.ExecContext(ctx, `CREATE ROLE "`+role+`" LOGIN CONNECTION LIMIT 0`)
	require.NoError(t, err)
	t.Cleanup(func() { _, _ = db.ExecContext(context.Background(), `DROP ROLE IF EXISTS "`+role+`"`) })
	as := func(user string) string {
		u, err := url.Parse(admin)
		require.NoError(t, err)
		u.User = url.User(user)
		return u.String()
	}
	// A listener that accepts and never answers: a hung database.
	hungDB := hung.Listener(t)

	// exec runs sql on a fresh connection to url (the admin database when "").
	exec := func(rawURL, query string, timeout time.Duration) error {
		if rawURL == "" {
			rawURL = admin
		}
		c, err := newConnector(Config{URL: rawURL, DialTimeout: timeout, Timeout: timeout}.withDefaults())
		require.NoError(t, err)
		d := sql.OpenDB(c)
		defer d.Close()
		_, err = d.ExecContext(ctx, query)
		return err
	}
	// onOwnConn runs setup then query on one connection.
	onOwnConn := func(setup func(c *sql.Conn, pid int), query string) error {
		c, err := db.Conn(ctx)
		require.NoError(t, err)
		defer c.Close()
		var pid int
		require.NoError(t, c.QueryRowContext(ctx, "SELECT pg_backend_pid()").Scan(&pid))
		setup(c, pid)
		_, err = c.ExecContext(ctx, query)
		return err
	}
	// afterSet runs query on a connection of its own after the SET statement set.
	afterSet := func(set, query string) error {
		return onOwnConn(func(c *sql.Conn, _ int) {
			_, err := c.ExecContext(ctx, set)
			require.NoError(t, err)
		}, query)
	}

	for _, tc := range []struct {
		name string
		err  func() error
		want Kind
		msg  string // for invalid: what the client reads
	}{
		{"a read-only transaction (a failover, default_transaction_read_only) is unavailable", func() error {
			return afterSet("SET default_transaction_read_only = on", "CREATE TEMP TABLE t (x int)")
		}, KindUnavailable, ""},
		{"a terminated backend (pg_terminate_backend, a restart) is unavailable", func() error {
			return onOwnConn(func(_ *sql.Conn, pid int) {
				_, err := db.ExecContext(ctx, "SELECT pg_terminate_backend($1)", pid)
				require.NoError(t, err)
			}, "SELECT 1")
		}, KindUnavailable, ""},
		{"too many connections for a role (53300) is unavailable", func() error {
			return exec(as(role), "SELECT 1", 5*time.Second)
		}, KindUnavailable, ""},
		{"a role that does not exist (28000) is unavailable", func() error {
			return exec(as("no_such_role_"+hex.EncodeToString(b)), "SELECT 1", 5*time.Second)
		}, KindUnavailable, ""},
		{"a refused connection is unavailable", func() error {
			return exec("postgres://postgres@127.0.0.1:1/postgres?sslmode=disable", "SELECT 1", 2*time.Second)
		}, KindUnavailable, ""},
		{"a database that accepts and never answers times out: unavailable", func() error {
			return exec("postgres://postgres@"+hungDB.Addr().String()+"/postgres?sslmode=disable", "SELECT 1", 300*time.Millisecond)
		}, KindUnavailable, ""},
		{"a statement timeout (57014) is unavailable", func() error {
			return afterSet("SET statement_timeout = '50ms'", "SELECT pg_sleep(5)")
		}, KindUnavailable, ""},
		{"a serialization failure (40001) is unavailable", func() error { return exec("", raise("40001"), 5*time.Second) }, KindUnavailable, ""},
		{"a deadlock (40P01) is unavailable", func() error { return exec("", raise("40P01"), 5*time.Second) }, KindUnavailable, ""},
		{"a connection failure (08006) is unavailable", func() error { return exec("", raise("08006"), 5*time.Second) }, KindUnavailable, ""},
		{"out of memory (53200) is unavailable", func() error { return exec("", raise("53200"), 5*time.Second) }, KindUnavailable, ""},
		{"cannot connect now (57P03) is unavailable", func() error { return exec("", raise("57P03"), 5*time.Second) }, KindUnavailable, ""},
		{"a refused password (28P01) is unavailable", func() error { return exec("", raise("28P01"), 5*time.Second) }, KindUnavailable, ""},
		{"a malformed uuid (22P02) is the client's", func() error { return exec("", "SELECT 'not-a-uuid'::uuid", 5*time.Second) },
			KindInvalid, `the database refused a value in this request: invalid input syntax for type uuid: "not-a-uuid"`},
		{"a time out of range (22008) is the client's", func() error {
			return exec("", "SELECT '0000-01-01 00:00:00+00'::timestamptz", 5*time.Second)
		}, KindInvalid, "the database refused a value in this request: date/time field value out of range"},
		{"a number out of range (22003) is the client's", func() error { return exec("", "SELECT 9223372036854775807::bigint + 1", 5*time.Second) },
			KindInvalid, "the database refused a value in this request: bigint out of range"},
		{"a syntax error is a bug", func() error { return exec("", "SELEC 1", 5*time.Second) }, KindBug, ""},
		{"a unique violation is a bug", func() error { return exec("", raise("23505"), 5*time.Second) }, KindBug, ""},
		{"an undefined table is a bug", func() error { return exec("", "SELECT * FROM no_such_table", 5*time.Second) }, KindBug, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.err()
			require.Error(t, err)
			assert.Equal(t, tc.want, Classify(err), "%v", err)
			got := translate("op", err)
			assert.Equal(t, tc.want == KindUnavailable, errors.Is(got, number.ErrUnavailable), "%v", got)
			assert.Equal(t, tc.want == KindInvalid, errors.Is(got, number.ErrInvalid), "%v", got)
			if tc.want == KindInvalid {
				var inv *number.Error
				require.ErrorAs(t, got, &inv)
				assert.True(t, strings.HasPrefix(inv.Message, tc.msg), "client message %q", inv.Message)
			}
		})
	}
}

func TestBrokenConnectionsAreToldFromRefusedStatements(t *testing.T) {
	t.Parallel()
	db, _ := adminDB(t)
	ctx := context.Background()
	c, err := db.Conn(ctx)
	require.NoError(t, err)
	defer c.Close()
	var pid int
	require.NoError(t, c.QueryRowContext(ctx, "SELECT pg_backend_pid()").Scan(&pid))
	_, err = db.ExecContext(ctx, "SELECT pg_terminate_backend($1)", pid)
	require.NoError(t, err)
	_, err = c.ExecContext(ctx, "SELECT 1")
	require.Error(t, err)
	assert.True(t, brokenConn(err), "a terminated session is a broken connection: %v", err)

	_, err = db.ExecContext(ctx, raise("25006"))
	require.Error(t, err)
	assert.False(t, brokenConn(err), "a refused statement is not: %v", err)
	assert.True(t, IsReadOnly(err))
}
