package httpapi

import (
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/numbers-app/numbers/shared/forwardedfor"
)

// EdgeConfig hardens the public edge. The zero value allows every origin
// nothing (no CORS headers) and does not rate-limit.
type EdgeConfig struct {
	// RatePerClient is the sustained requests per second one client may
	// make to /api (token bucket); 0 disables rate limiting.
	RatePerClient float64
	// Burst is the bucket size. Defaults to twice RatePerClient (at least 1).
	Burst int
	// TrustForwardedFor identifies clients by X-Forwarded-For (the address
	// the ALB appends) instead of the peer address. Set it only behind a
	// proxy that writes that header.
	TrustForwardedFor bool
	// ForwardedForHops is how many trusted proxies append to
	// X-Forwarded-For, the nearest last: the client is the entry this many
	// from the right of all the header's lines joined in order (the
	// left-most when there are fewer). Entries further left are the
	// client's own writing. Defaults to DefaultForwardedForHops.
	ForwardedForHops int
	// AllowedOrigins are the browser origins (scheme://host[:port]) that may
	// call the API cross-origin; "*" allows any.
	AllowedOrigins []string
}

// DefaultForwardedForHops is EdgeConfig.ForwardedForHops when unset: the
// ALB alone, which appends the address it saw as the right-most entry.
const DefaultForwardedForHops = 1

// edge is the CORS and rate-limit middleware.
type edge struct {
	cfg     EdgeConfig
	origins map[string]bool
	mu      sync.Mutex
	clients map[string]*client
	swept   time.Time
	now     func() time.Time
}

type client struct {
	lim  *rate.Limiter
	seen time.Time
}

// maxClients bounds the limiter table: beyond it, idle clients are swept
// at once and, if that is not enough, new clients share one bucket.
const maxClients = 100_000

func newEdge(cfg EdgeConfig, now func() time.Time) *edge {
	if cfg.ForwardedForHops < 1 {
		cfg.ForwardedForHops = DefaultForwardedForHops
	}
	if cfg.Burst == 0 {
		cfg.Burst = max(1, int(math.Ceil(2*cfg.RatePerClient)))
	}
	e := &edge{cfg: cfg, origins: map[string]bool{}, clients: map[string]*client{}, now: now, swept: now()}
	for _, o := range cfg.AllowedOrigins {
		e.origins[strings.TrimRight(strings.TrimSpace(o), "/")] = true
	}
	return e
}

func (e *edge) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h["X-Content-Type-Options"] = noSniff
		api := strings.HasPrefix(r.URL.Path, "/api/")
		if origin := r.Header.Get("Origin"); origin != "" && api {
			allowed := e.origins["*"] || e.origins[origin]
			h.Add("Vary", "Origin")
			if allowed {
				h.Set("Access-Control-Allow-Origin", origin)
				h.Set("Access-Control-Expose-Headers", "X-Request-Id, Location, Retry-After, Idempotent-Replayed")
			}
			if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
				if !allowed {
					writeError(w, r, http.StatusForbidden, "origin "+origin+" may not call this API")
					return
				}
				h.Set("Access-Control-Allow-Methods", "GET, POST")
				h.Set("Access-Control-Allow-Headers", "Content-Type, Idempotency-Key, X-Request-Id")
				h.Set("Access-Control-Max-Age", "600")
				w.WriteHeader(http.StatusNoContent)
				return
			}
		}
		if api && e.cfg.RatePerClient > 0 {
			if ok, wait := e.allow(e.clientKey(r)); !ok {
				h.Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
				writeError(w, r, http.StatusTooManyRequests, "too many requests from this client: slow down")
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

func (e *edge) clientKey(r *http.Request) string {
	if e.cfg.TrustForwardedFor {
		if c := forwardedfor.Client(r.Header.Values("X-Forwarded-For"), e.cfg.ForwardedForHops); c != "" {
			return c
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// allow takes a token for the client, or says how long until one is free.
func (e *edge) allow(key string) (bool, time.Duration) {
	now := e.now()
	e.mu.Lock()
	defer e.mu.Unlock()
	if now.Sub(e.swept) > time.Minute || len(e.clients) >= maxClients {
		e.sweep(now)
	}
	c, ok := e.clients[key]
	if !ok {
		if len(e.clients) >= maxClients {
			key = "overflow"
			c = e.clients[key]
		}
		if c == nil {
			c = &client{lim: rate.NewLimiter(rate.Limit(e.cfg.RatePerClient), e.cfg.Burst)}
			// The key may share its bytes with the request's (a server
			// may reuse them for the next request): the table keeps its own.
			key = strings.Clone(key)
			e.clients[key] = c
		}
	}
	c.seen = now
	res := c.lim.ReserveN(now, 1)
	if d := res.DelayFrom(now); d > 0 {
		res.CancelAt(now)
		return false, d
	}
	return true, 0
}

// sweep forgets clients idle for long enough that their bucket is full.
func (e *edge) sweep(now time.Time) {
	idle := time.Duration(float64(e.cfg.Burst)/e.cfg.RatePerClient*float64(time.Second)) + time.Minute
	for k, c := range e.clients {
		if now.Sub(c.seen) > idle {
			delete(e.clients, k)
		}
	}
	e.swept = now
}
