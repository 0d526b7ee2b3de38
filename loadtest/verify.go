package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
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
}

func (s *apiSource) Rows(ctx context.Context, lo, hi int64, since time.Time) ([]row, error) {
	var out []row
	cursor := ""
	for {
		u := strings.TrimRight(s.base, "/") + "/api/values?limit=500"
		if cursor != "" {
			u += "&cursor=" + url.QueryEscape(cursor)
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return nil, err
		}
		resp, err := s.client.Do(req)
		if err != nil {
			return nil, fmt.Errorf("list values: %w", err)
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
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("list values: %s: %s", resp.Status, body)
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

// waitStored polls the source until every accepted value is stored or the
// timeout passes, and returns the rows of this run and how long the drain
// took after the attack ended.
func waitStored(ctx context.Context, src resultSource, res *attackResult, timeout time.Duration, progress io.Writer) ([]row, time.Duration, error) {
	deadline := res.Ended.Add(timeout)
	// Clocks of the proxy and this machine may differ: look a minute back.
	since := res.Started.Add(-time.Minute)
	for {
		rows, err := src.Rows(ctx, res.MinValue, res.MaxValue, since)
		if err != nil {
			return nil, 0, err
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
