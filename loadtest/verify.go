package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/uptrace/bun/driver/pgdriver"
)

// row is a stored number as the verifier sees it.
type row struct {
	ID         string
	Value      int64
	AcceptedAt time.Time
	StoredAt   time.Time
}

// resultSource finds the stored rows of this run.
type resultSource interface {
	// Rows returns every stored row whose value lies in [lo, hi] and was
	// accepted at or after since.
	Rows(ctx context.Context, lo, hi int64, since time.Time) ([]row, error)
}

type dbSource struct{ db *sql.DB }

func openDB(dsn string) (*sql.DB, error) {
	db := sql.OpenDB(pgdriver.NewConnector(pgdriver.WithDSN(dsn)))
	if err := db.Ping(); err != nil {
		return nil, fmt.Errorf("connect to -database-url: %w", err)
	}
	return db, nil
}

func (s dbSource) Rows(ctx context.Context, lo, hi int64, _ time.Time) ([]row, error) {
	rs, err := s.db.QueryContext(ctx, `SELECT id::text, value, accepted_at, stored_at FROM numbers WHERE value BETWEEN $1 AND $2`, lo, hi)
	if err != nil {
		return nil, fmt.Errorf("query rows: %w", err)
	}
	defer rs.Close()
	var out []row
	for rs.Next() {
		var r row
		if err := rs.Scan(&r.ID, &r.Value, &r.AcceptedAt, &r.StoredAt); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rs.Err()
}

// apiSource pages through GET /api/values (newest first) back to the start
// of the run, so it works against any deployment and also sees duplicates
// (two rows with one value), which a lookup by id could not.
type apiSource struct {
	base   string
	client http.Client
	// retryUntil ends retrying 503, 429 and failed connections (the end
	// of the drain timeout); zero: until the context ends.
	retryUntil time.Time
}

// permanent marks a verification failure that retrying will not cure (an
// answer other than 200, 429 or 503).
type permanent struct{ error }

func (p permanent) Unwrap() error { return p.error }

func (s *apiSource) Rows(ctx context.Context, lo, hi int64, since time.Time) ([]row, error) {
	var out []row
	cursor := ""
	for {
		u := strings.TrimRight(s.base, "/") + "/api/values?limit=500"
		if cursor != "" {
			u += "&cursor=" + url.QueryEscape(cursor)
		}
		body, err := s.get(ctx, u)
		if err != nil {
			return nil, err
		}
		var page struct {
			Values []struct {
				ID         string    `json:"id"`
				Value      int64     `json:"value"`
				AcceptedAt time.Time `json:"accepted_at"`
				StoredAt   time.Time `json:"stored_at"`
			} `json:"values"`
			NextCursor string `json:"next_cursor"`
		}
		if err := json.Unmarshal(body, &page); err != nil {
			return nil, fmt.Errorf("list values: %w", err)
		}
		older := false
		for _, v := range page.Values {
			if v.AcceptedAt.Before(since) {
				older = true
				break
			}
			if v.Value >= lo && v.Value <= hi {
				out = append(out, row{ID: v.ID, Value: v.Value, AcceptedAt: v.AcceptedAt, StoredAt: v.StoredAt})
			}
		}
		if older || page.NextCursor == "" {
			return out, nil
		}
		cursor = page.NextCursor
	}
}

// get fetches u, retrying what says "later" (503 and 429, honouring
// Retry-After, and failed connections) until ctx ends: a database restart
// during the verification delays it, and does not end it.
func (s *apiSource) get(ctx context.Context, u string) ([]byte, error) {
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return nil, err
		}
		wait := time.Second
		var failure error
		resp, err := s.client.Do(req)
		if err != nil {
			failure = fmt.Errorf("list values: %w", err)
		} else {
			body, rerr := io.ReadAll(resp.Body)
			resp.Body.Close()
			switch {
			case rerr == nil && resp.StatusCode == http.StatusOK:
				return body, nil
			case resp.StatusCode == http.StatusServiceUnavailable, resp.StatusCode == http.StatusTooManyRequests:
				failure = fmt.Errorf("list values: %s: %s", resp.Status, body)
				if secs, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && secs >= 0 {
					wait = time.Duration(secs) * time.Second
				}
			case rerr != nil:
				failure = fmt.Errorf("list values: %w", rerr)
			default:
				return nil, permanent{fmt.Errorf("list values: %s: %s", resp.Status, body)}
			}
		}
		if ctx.Err() != nil {
			return nil, failure
		}
		if !s.retryUntil.IsZero() && time.Now().Add(wait).After(s.retryUntil) {
			return nil, fmt.Errorf("%w (still failing at the drain timeout)", failure)
		}
		select {
		case <-ctx.Done():
			return nil, failure
		case <-time.After(wait):
		}
	}
}

// waitStored polls the source until every accepted value is stored or the
// timeout passes, and returns the rows of this run and how long the drain
// took after the attack ended.
func waitStored(ctx context.Context, src resultSource, res *attackResult, timeout time.Duration, progress io.Writer) ([]row, time.Duration, error) {
	deadline := res.Ended.Add(timeout)
	// Clocks of the proxy and this machine may differ: look a minute back.
	since := res.Started.Add(-time.Minute)
	// The source retries what says "later" until about the drain timeout;
	// the margin lets the last poll page through a large run.
	ctx, cancel := context.WithDeadline(ctx, deadline.Add(max(timeout, time.Minute)))
	defer cancel()
	for {
		rows, err := src.Rows(ctx, res.MinValue, res.MaxValue, since)
		if err != nil {
			var perm permanent
			if errors.As(err, &perm) || time.Now().After(deadline) || ctx.Err() != nil {
				return nil, 0, err
			}
			// The source is down for a while (a database restart): wait.
			fmt.Fprintf(progress, "  verification: %v; retrying\n", err)
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
			continue
		}
		found := 0
		for _, r := range rows {
			if a, ok := res.Accepted[r.Value]; ok && a.ID == r.ID {
				found++
			}
		}
		drain := time.Since(res.Ended)
		fmt.Fprintf(progress, "  drain %5.1fs  stored %d of %d accepted\n", drain.Seconds(), found, len(res.Accepted))
		if found >= len(res.Accepted) || time.Now().After(deadline) || ctx.Err() != nil {
			return rows, drain, nil
		}
		select {
		case <-ctx.Done():
		case <-time.After(500 * time.Millisecond):
		}
	}
}
