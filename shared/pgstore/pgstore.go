// Package pgstore stores numbers in Postgres with bun and pgdriver: the
// number.Reader and number.Writer the proxy and the worker use, and the
// embedded schema migrations.
package pgstore

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"

	"github.com/numbers-app/numbers/shared/number"
)

// Defaults for Config.
const (
	DefaultMaxConns        = 10
	DefaultDialTimeout     = 5 * time.Second
	DefaultTimeout         = 10 * time.Second
	DefaultConnMaxIdleTime = 5 * time.Minute
	DefaultConnMaxLifetime = 30 * time.Minute
)

// Config configures a Store.
type Config struct {
	// URL is a postgres:// connection URL. Required.
	URL string
	// MaxConns caps open connections. Defaults to DefaultMaxConns. Size it for
	// the number of processes times this value staying under the server's
	// max_connections (matters most for Lambda).
	MaxConns int
	// DialTimeout bounds connecting. Defaults to DefaultDialTimeout.
	DialTimeout time.Duration
	// Timeout bounds each read and write on a connection. Defaults to DefaultTimeout.
	Timeout time.Duration
	// ConnMaxIdleTime closes a connection idle this long, and
	// ConnMaxLifetime one this old (so connections follow a failover's DNS
	// change and a rotated password). Default to DefaultConnMaxIdleTime and
	// DefaultConnMaxLifetime.
	ConnMaxIdleTime time.Duration
	ConnMaxLifetime time.Duration
	// Credentials, when set, give the user and password of every new
	// connection (see SecretCredentials); else the URL's are used.
	Credentials Credentials
	// SecretARN, when set and Credentials is not, names the Secrets Manager
	// secret (RDS-managed, JSON with username and password) to read the
	// credentials from, re-read when Postgres refuses them; AWSRegion is
	// the secret's region. This is DB_SECRET_ARN.
	SecretARN string
	AWSRegion string
	// IAMAuth, when set and Credentials and SecretARN are not, connects
	// with RDS IAM database authentication (IAMCredentials: a fresh token
	// per connection for the URL's user and host, in AWSRegion). This is
	// DB_IAM_AUTH.
	IAMAuth bool
}

func (c Config) withDefaults() Config {
	c.MaxConns = cmp.Or(c.MaxConns, DefaultMaxConns)
	c.DialTimeout = cmp.Or(c.DialTimeout, DefaultDialTimeout)
	c.Timeout = cmp.Or(c.Timeout, DefaultTimeout)
	c.ConnMaxIdleTime = cmp.Or(c.ConnMaxIdleTime, DefaultConnMaxIdleTime)
	c.ConnMaxLifetime = cmp.Or(c.ConnMaxLifetime, DefaultConnMaxLifetime)
	return c
}

// Validate names the first bad field.
func (c Config) Validate() error {
	switch {
	case c.URL == "":
		return errors.New("pgstore: URL is required")
	case !strings.HasPrefix(c.URL, "postgres://") && !strings.HasPrefix(c.URL, "postgresql://"):
		return errors.New("pgstore: URL must start with postgres://")
	case c.MaxConns < 1:
		return errors.New("pgstore: MaxConns must be at least 1")
	}
	return nil
}

// Store is the Postgres store. It is safe for concurrent use.
type Store struct {
	db       *bun.DB
	sqldb    *sql.DB
	poolSize int // Config.MaxConns: the most connections open, and idle
	idleMu   sync.Mutex
	// beforeRetry, when set (by tests only), runs between retryBroken's
	// dropping of the idle connections and its next attempt.
	beforeRetry func()
}

var (
	_ number.Reader = (*Store)(nil)
	_ number.Writer = (*Store)(nil)
)

// Open connects lazily (the first query dials) so a process can start while
// the database is still coming up; use Ping to check.
func Open(cfg Config) (*Store, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Credentials == nil && cfg.SecretARN != "" {
		creds, err := NewSecretCredentials(context.Background(), cfg.AWSRegion, cfg.SecretARN)
		if err != nil {
			return nil, err
		}
		cfg.Credentials = creds
	}
	if cfg.Credentials == nil && cfg.IAMAuth {
		u, err := url.Parse(cfg.URL)
		if err != nil || u.User.Username() == "" {
			return nil, errors.New("pgstore: IAM authentication needs a user and host in the URL")
		}
		host := u.Host
		if u.Port() == "" {
			host += ":5432"
		}
		creds, err := NewIAMCredentials(context.Background(), cfg.AWSRegion, host, u.User.Username())
		if err != nil {
			return nil, err
		}
		cfg.Credentials = creds
	}
	conn, err := newConnector(cfg)
	if err != nil {
		return nil, err
	}
	return open(cfg, conn), nil
}

// open makes the Store around a connector, with the pool's limits.
func open(cfg Config, conn *connector) *Store {
	sqldb := sql.OpenDB(conn)
	sqldb.SetMaxOpenConns(cfg.MaxConns)
	sqldb.SetMaxIdleConns(cfg.MaxConns)
	sqldb.SetConnMaxIdleTime(cfg.ConnMaxIdleTime)
	sqldb.SetConnMaxLifetime(cfg.ConnMaxLifetime)
	return &Store{db: bun.NewDB(sqldb, pgdialect.New()), sqldb: sqldb, poolSize: cfg.MaxConns}
}

// DB exposes the bun handle for tests and tools.
func (s *Store) DB() *bun.DB { return s.db }

// Close closes the pool.
func (s *Store) Close() error { return s.db.Close() }

// Ping checks that Postgres answers a query.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.retryBroken(ctx, func() error {
		_, err := s.db.ExecContext(ctx, "SELECT 1")
		return err
	}); err != nil {
		return translate("ping postgres", err)
	}
	return nil
}

type row struct {
	bun.BaseModel `bun:"table:numbers"`

	ID         string    `bun:"id,pk,type:uuid"`
	Value      int64     `bun:"value,notnull"`
	AcceptedAt time.Time `bun:"accepted_at,notnull"`
	StoredAt   time.Time `bun:"stored_at,nullzero,notnull,default:current_timestamp"`
}

func (r row) number() number.Number {
	return number.Number{ID: r.ID, Value: r.Value, AcceptedAt: r.AcceptedAt.UTC(), StoredAt: r.StoredAt.UTC()}
}

// Insert stores submissions in one statement and one transaction, skipping
// ids already stored (and repeated within subs), and returns how many rows
// were new. Idempotent: the worker may call it again with the same batch.
func (s *Store) Insert(ctx context.Context, subs []number.Submission) (int, error) {
	if len(subs) == 0 {
		return 0, nil
	}
	rows := make([]row, 0, len(subs))
	for _, sub := range subs {
		rows = append(rows, row{ID: sub.ID, Value: sub.Value, AcceptedAt: number.Truncate(sub.AcceptedAt)})
	}
	// One statement, idempotent: safe to send again on a fresh connection
	// when the first one broke (it may have committed: the retry then
	// finds the ids stored and counts them as not new).
	var res sql.Result
	err := s.retryBroken(ctx, func() (err error) {
		res, err = s.db.NewInsert().Model(&rows).
			Column("id", "value", "accepted_at").
			On("CONFLICT (id) DO NOTHING").
			Exec(ctx)
		return err
	})
	if err != nil {
		return 0, translate("insert numbers", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("insert numbers: rows affected: %w", err)
	}
	return int(n), nil
}

// Get returns one stored number.
func (s *Store) Get(ctx context.Context, id string) (number.Number, error) {
	if err := number.CheckID(id); err != nil {
		return number.Number{}, err
	}
	var r row
	err := s.retryBroken(ctx, func() error { return s.db.NewSelect().Model(&r).Where("id = ?", id).Scan(ctx) })
	if errors.Is(err, sql.ErrNoRows) {
		return number.Number{}, fmt.Errorf("number %s: %w", id, number.ErrNotFound)
	}
	if err != nil {
		return number.Number{}, translate("get number", err)
	}
	return r.number(), nil
}

// List returns a page of numbers, newest first (by accepted_at, then id).
func (s *Store) List(ctx context.Context, p number.Page) ([]number.Number, string, error) {
	limit := p.Limit
	if limit <= 0 {
		limit = number.DefaultPageLimit
	}
	if limit > number.MaxPageLimit {
		limit = number.MaxPageLimit
	}
	q := s.db.NewSelect().Model((*row)(nil)).
		OrderExpr("accepted_at DESC, id DESC").
		Limit(limit + 1)
	if p.Cursor != "" {
		at, id, err := decodeCursor(p.Cursor)
		if err != nil {
			return nil, "", err
		}
		q = q.Where("(accepted_at, id) < (?, ?)", at, id)
	}
	var rows []row
	if err := s.retryBroken(ctx, func() error { rows = rows[:0]; return q.Scan(ctx, &rows) }); err != nil {
		return nil, "", translate("list numbers", err)
	}
	next := ""
	if len(rows) > limit {
		rows = rows[:limit]
		last := rows[limit-1]
		next = encodeCursor(last.AcceptedAt, last.ID)
	}
	out := make([]number.Number, len(rows))
	for i, r := range rows {
		out[i] = r.number()
	}
	return out, next, nil
}

// Count returns how many numbers are stored.
func (s *Store) Count(ctx context.Context) (int, error) {
	var n int
	err := s.retryBroken(ctx, func() (err error) {
		n, err = s.db.NewSelect().Model((*row)(nil)).Count(ctx)
		return err
	})
	if err != nil {
		return 0, translate("count numbers", err)
	}
	return n, nil
}
