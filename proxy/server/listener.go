package server

import (
	"errors"
	"net"
	"sync"
	"syscall"
	"time"

	"github.com/rs/zerolog"
)

// firstRequestListener is the proxy's listener: it hands a connection to
// the server only once the first bytes of its first request can be read.
//
// Why: fasthttp, like net/http, starts ReadTimeout of a connection's first
// request when it starts serving the connection, not when the request
// begins to arrive, as it does for every later request on the connection
// (for net/http, Go issue 54784 fixed only those). A client that opens a
// connection ahead of its request, as Go's http.Transport does when it dials
// for a request that an idle connection then takes, keeps the new one idle
// in its pool; the server closed it after the read (for net/http the
// header) timeout while the client took it for usable, and a request sent
// on it as it closed met a reset or an EOF: a connection error for a write
// whose fate the client cannot know. make bench's overload rounds showed it
// (a capture had the server's FIN or RST 2.0 s, net/http's header timeout,
// after a connect whose request came just then). Here the idle time before
// the first request is bounded by IdleTimeout, as the idle time between
// requests is, and the read timeout counts from the first byte.
//
// A waiting connection is not yet open to the connection bound (HTTP
// counts it from its first request, and decides then whether it is past
// the bound), so connections that send nothing cannot hold the bound
// against clients that do. At most maxWaiting wait at once.
//
// An accept that fails for want of a file descriptor or memory (EMFILE,
// ENFILE, ENOBUFS, ENOMEM) is retried after a pause, as net/http's Serve
// does: fasthttp's Serve returns on it, and the proxy would exit under a
// flood of connections.
type firstRequestListener struct {
	net.Listener
	idle       time.Duration
	maxWaiting int
	log        zerolog.Logger

	ready chan net.Conn
	errs  chan error
	done  chan struct{} // closed by Close, under mu

	mu      sync.Mutex
	waiting map[net.Conn]struct{}
	close   sync.Once
}

// listenFirstRequest wraps ln: idle bounds how long an accepted connection
// may wait for its first request (0: no bound), and at most maxWaiting
// (at least 1) wait at once. log gets the accept errors it retries.
func listenFirstRequest(ln net.Listener, idle time.Duration, maxWaiting int, log zerolog.Logger) *firstRequestListener {
	l := &firstRequestListener{Listener: ln, idle: idle, maxWaiting: max(maxWaiting, 1), log: log,
		ready: make(chan net.Conn), errs: make(chan error), done: make(chan struct{}),
		waiting: map[net.Conn]struct{}{}}
	go l.run()
	return l
}

// Pauses after an accept that failed for want of resources: net/http's,
// doubling from 5 ms to 1 s while the failures go on.
const (
	minAcceptPause = 5 * time.Millisecond
	maxAcceptPause = time.Second
)

// run accepts connections until the listener is closed. An accept that
// failed for want of resources is retried after a pause; any other error
// goes to the next Accept call (the server then stops serving).
func (l *firstRequestListener) run() {
	var pause time.Duration
	for {
		conn, err := l.Listener.Accept()
		if err != nil && outOfResources(err) {
			pause = min(max(2*pause, minAcceptPause), maxAcceptPause)
			l.log.Warn().Err(err).Dur("retry_in", pause).Msg("accept failed: retrying")
			select {
			case <-time.After(pause):
				continue
			case <-l.done:
				return
			}
		}
		pause = 0
		if err != nil {
			select {
			case l.errs <- err:
				continue
			case <-l.done:
				return
			}
		}
		l.mu.Lock()
		select {
		case <-l.done: // accepted as Close ran: Close has closed the others
			l.mu.Unlock()
			_ = conn.Close()
			return
		default:
		}
		wait := len(l.waiting) < l.maxWaiting
		if wait {
			l.waiting[conn] = struct{}{}
		}
		l.mu.Unlock()
		if !wait {
			// A goroutine each, a few KiB, for at most maxWaiting. Past
			// that, a connection is the server's at once, as it was before
			// this listener: served as soon as its request comes, answered
			// 408 and closed after ReadTimeout if none does. (Closing the oldest
			// waiting one instead closed, in a burst of new connections,
			// ones whose requests were just arriving.)
			l.handOver(conn)
			continue
		}
		go l.await(conn)
	}
}

// await hands conn over once its first request has begun to arrive, or
// closes it when none came within idle, or when the listener's Close
// closed it meanwhile.
func (l *firstRequestListener) await(conn net.Conn) {
	err := readable(conn, l.idle)
	l.mu.Lock()
	delete(l.waiting, conn)
	l.mu.Unlock()
	if err != nil {
		_ = conn.Close()
		return
	}
	l.handOver(conn)
}

func (l *firstRequestListener) handOver(conn net.Conn) {
	select {
	case l.ready <- conn:
	case <-l.done:
		_ = conn.Close()
	}
}

// Accept returns the next connection whose first request has begun to
// arrive, or one accepted while maxWaiting were waiting.
func (l *firstRequestListener) Accept() (net.Conn, error) {
	select {
	case conn := <-l.ready:
		return conn, nil
	case err := <-l.errs:
		return nil, err
	case <-l.done:
		return nil, net.ErrClosed
	}
}

// Close closes the listener and the connections still waiting for their
// first request (the server's Shutdown closes the idle ones it holds).
func (l *firstRequestListener) Close() error {
	err := l.Listener.Close()
	l.close.Do(func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		close(l.done)
		for conn := range l.waiting {
			_ = conn.Close() // its await sees the error
		}
	})
	return err
}

// readable waits until bytes can be read from conn without reading them
// (a peek), at most idle. A connection the peer closed, or one whose socket
// reports an error, counts as readable: the server reads the end and
// closes it. A conn that is not a socket is readable at once.
func readable(conn net.Conn, idle time.Duration) error {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return nil
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return nil //nolint:nilerr // not a socket we can peek at: serve it as the server would
	}
	if idle > 0 {
		if err := conn.SetReadDeadline(time.Now().Add(idle)); err != nil {
			return err
		}
	}
	var b [1]byte
	err = raw.Read(func(fd uintptr) bool {
		for {
			_, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK)
			if errors.Is(err, syscall.EINTR) {
				continue
			}
			return !errors.Is(err, syscall.EAGAIN) // else wait until readable
		}
	})
	if err != nil {
		return err
	}
	return conn.SetReadDeadline(time.Time{}) // the server sets its own
}

// outOfResources says whether an accept failed for want of file
// descriptors or memory: a state that passes as connections close.
func outOfResources(err error) bool {
	return errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) ||
		errors.Is(err, syscall.ENOBUFS) || errors.Is(err, syscall.ENOMEM)
}
