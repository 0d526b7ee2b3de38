package pgstore

import (
	"context"
	"database/sql/driver"
	"fmt"
	"net"
	"sync"

	"github.com/uptrace/bun/driver/pgdriver"

	"github.com/numbers-app/numbers/shared/number"
)

// connector is the Store's database/sql connector. It makes every new
// connection with pgdriver and the credentials current at that moment
// (Credentials), re-reading them once when the server refuses them, and it
// gives database/sql a session check (driver.SessionResetter through
// pgdriver's ResetSessionFunc) that discards a pooled connection which
// broke while idle, so a query never goes out on one: database/sql then
// takes another connection or dials a new one (driver.ErrBadConn).
type connector struct {
	base  pgdriver.Config // from the URL, parsed once
	creds Credentials     // nil: the URL's
}

var _ driver.Connector = (*connector)(nil)

// newConnector parses the URL once; a URL pgdriver cannot parse is an
// error here, not a panic at the first connection.
func newConnector(cfg Config) (c *connector, err error) {
	defer func() {
		if p := recover(); p != nil {
			c, err = nil, fmt.Errorf("pgstore: URL: %v", p)
		}
	}()
	pc := pgdriver.NewConnector(
		pgdriver.WithDSN(cfg.URL),
		pgdriver.WithDialTimeout(cfg.DialTimeout),
		pgdriver.WithReadTimeout(cfg.Timeout),
		pgdriver.WithWriteTimeout(cfg.Timeout),
		pgdriver.WithResetSessionFunc(checkIdle),
	)
	return &connector{base: *pc.Config(), creds: cfg.Credentials}, nil
}

// checkIdle runs before database/sql hands out a connection that was used
// before: one that broke while it sat idle is bad (driver.ErrBadConn).
func checkIdle(_ context.Context, cn *pgdriver.Conn) error {
	if idleConnBroken(cn.Conn()) {
		_ = cn.Close()
		return driver.ErrBadConn
	}
	return nil
}

// Connect dials a new connection with the current credentials. When the
// server refuses them (SQLSTATE 28P01 or 28000) it asks the source to
// refresh and, when the source has something new, dials once more.
func (c *connector) Connect(ctx context.Context) (driver.Conn, error) {
	if c.creds == nil {
		return c.dial(ctx, nil)
	}
	cred, err := c.creds.Credential(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: database credentials: %w", number.ErrUnavailable, err)
	}
	cn, err := c.dial(ctx, &cred)
	if err == nil || !isAuthFailure(err) {
		return cn, err
	}
	fresh, changed, rerr := c.creds.Refresh(ctx, cred)
	if rerr != nil {
		return nil, fmt.Errorf("%w (and re-reading the credentials failed: %w)", err, rerr)
	}
	if !changed {
		return nil, err
	}
	return c.dial(ctx, &fresh)
}

func (c *connector) dial(ctx context.Context, cred *Credential) (driver.Conn, error) {
	conf := c.base // a copy per connection
	if cred != nil {
		conf.Password = cred.Password
		if cred.User != "" {
			conf.User = cred.User
		}
	}
	// pgdriver does not close the socket when the startup (authentication)
	// fails: keep it to close it here.
	var mu sync.Mutex
	var sock net.Conn
	dialer := conf.Dialer
	conf.Dialer = func(ctx context.Context, network, addr string) (net.Conn, error) {
		nc, err := dialer(ctx, network, addr)
		mu.Lock()
		sock = nc
		mu.Unlock()
		return nc, err
	}
	cn, err := pgdriver.NewConnector(pgdriver.WithConfig(&conf)).Connect(ctx)
	if err != nil {
		mu.Lock()
		if sock != nil {
			_ = sock.Close()
		}
		mu.Unlock()
		return nil, err
	}
	return cn, nil
}

// Driver is pgdriver's.
func (c *connector) Driver() driver.Driver { return pgdriver.NewDriver() }
