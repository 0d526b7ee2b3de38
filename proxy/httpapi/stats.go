package httpapi

import (
	"github.com/numbers-app/numbers/shared/number"

	"context"
	"net/http"
	"sync"
	"time"
)

// DefaultStatsCacheFor is the default for StatsSources.CacheFor.
const DefaultStatsCacheFor = time.Second

// StatsStore reads number.Figures cheaply: an index range scan and a count or
// an estimate, never a scan of a large table.
type StatsStore interface {
	StatsFigures(ctx context.Context, now time.Time) (number.Figures, error)
}

// StatsSources feed GET /api/stats. Any may be nil: its figures are then
// null and named in "unavailable".
type StatsSources struct {
	Store StatsStore
	Queue number.DepthFunc
	DLQ   number.DepthFunc
	// CacheFor is how long one reading is served before the next one, so a
	// page polling /api/stats cannot load the database or the queue.
	// Defaults to DefaultStatsCacheFor.
	CacheFor time.Duration
}

// Stats is the system at a glance: the body of GET /api/stats.
type Stats struct {
	StoredCount      *int64 `json:"stored_count"`
	StoredCountExact bool   `json:"stored_count_exact"`
	// QueueDepth is visible + in flight in the main queue.
	QueueDepth    *int `json:"queue_depth"`
	QueueVisible  *int `json:"queue_visible"`
	QueueInFlight *int `json:"queue_in_flight"`
	DLQDepth      *int `json:"dlq_depth"`
	// OldestMessageAgeSeconds estimates the age of the oldest message not
	// yet stored: 0 when the main queue is empty, otherwise now minus the
	// accepted_at of the newest stored number (standard SQS queues deliver
	// roughly in order, so what is still queued was accepted after it). It
	// is an upper bound; CloudWatch's ApproximateAgeOfOldestMessage is the
	// exact figure on AWS.
	OldestMessageAgeSeconds *float64 `json:"oldest_message_age_seconds"`
	// WorkerLagSeconds is the median accepted → stored time of the numbers
	// accepted in the last minute; null when there were none.
	WorkerLagSeconds *float64  `json:"worker_lag_seconds"`
	WorkerLagSamples int       `json:"worker_lag_samples"`
	AsOf             time.Time `json:"as_of"`
	Unavailable      []string  `json:"unavailable,omitempty"`
}

type statsCache struct {
	src StatsSources
	now func() time.Time

	mu   sync.Mutex
	last Stats
	at   time.Time
}

func newStatsCache(src StatsSources, now func() time.Time) *statsCache {
	if src.CacheFor == 0 {
		src.CacheFor = DefaultStatsCacheFor
	}
	return &statsCache{src: src, now: now}
}

// Stats returns the figures, read at most once per CacheFor (concurrent
// callers wait for one reading).
func (a *API) Stats(ctx context.Context) Stats {
	c := a.stats
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.at.IsZero() && c.now().Sub(c.at) < c.src.CacheFor {
		return c.last
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	c.last = c.read(ctx, a)
	c.at = c.now()
	return c.last
}

func (c *statsCache) read(ctx context.Context, a *API) Stats {
	now := c.now()
	s := Stats{AsOf: now.UTC()}
	type depth struct {
		visible, inFlight int
		err               error
	}
	var wg sync.WaitGroup
	var mainQ, dlq depth
	var fig number.Figures
	var figErr error
	read := func(f number.DepthFunc, out *depth) {
		if f != nil {
			wg.Go(func() { out.visible, out.inFlight, out.err = f(ctx) })
		}
	}
	read(c.src.Queue, &mainQ)
	read(c.src.DLQ, &dlq)
	if c.src.Store != nil {
		wg.Go(func() { fig, figErr = c.src.Store.StatsFigures(ctx, now) })
	}
	wg.Wait()
	log := a.deps.Log
	// total is a queue's depth (visible + in flight), or nil with the
	// queue named unavailable when it has no source or its read failed.
	total := func(f number.DepthFunc, q depth, name, what string) *int {
		if f == nil || q.err != nil {
			s.Unavailable = append(s.Unavailable, name)
			if q.err != nil {
				log.Warn().Err(q.err).Msg("stats: " + what)
			}
			return nil
		}
		d := q.visible + q.inFlight
		return &d
	}
	if d := total(c.src.Queue, mainQ, "queue", "main queue"); d != nil {
		s.QueueDepth, s.QueueVisible, s.QueueInFlight = d, &mainQ.visible, &mainQ.inFlight
	}
	s.DLQDepth = total(c.src.DLQ, dlq, "dlq", "dead-letter queue")
	if c.src.Store == nil || figErr != nil {
		s.Unavailable = append(s.Unavailable, "store")
		if figErr != nil {
			log.Warn().Err(figErr).Msg("stats: store")
		}
		return s
	}
	s.StoredCount, s.StoredCountExact = &fig.Count, fig.Exact
	if fig.RecentSamples > 0 {
		lag := fig.RecentLag.Seconds()
		s.WorkerLagSeconds, s.WorkerLagSamples = &lag, fig.RecentSamples
	}
	if s.QueueDepth != nil {
		age := 0.0
		if *s.QueueDepth > 0 {
			if fig.NewestAcceptedAt.IsZero() {
				return s // queued, nothing stored yet: unknown
			}
			age = max(0, now.Sub(fig.NewestAcceptedAt).Seconds())
		}
		s.OldestMessageAgeSeconds = &age
	}
	return s
}

func (a *API) getStats(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, a.Stats(r.Context()))
}
