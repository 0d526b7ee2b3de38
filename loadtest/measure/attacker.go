package measure

import (
	"net"
	"net/http"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// NewAttacker is the open-model vegeta attacker both load tools use:
// keep-alive connections (up to 10,000 idle per host), workers as the
// starting number (vegeta adds more to hold the rate, up to maxWorkers
// when it is not 0: one connection each), timeout per request,
// bodies read up to 4 KiB. Call the returned release when the attack is
// over: it closes the idle connections, which would otherwise stay open
// (vegeta never closes them) until the server's idle timeout, counting
// against its connection bound in the next attack.
func NewAttacker(workers, maxWorkers uint64, timeout time.Duration) (atk *vegeta.Attacker, release func()) {
	tr := &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		DialContext:         (&net.Dialer{KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConnsPerHost: 10000,
	}
	opts := []func(*vegeta.Attacker){
		vegeta.Client(&http.Client{Transport: tr}),
		vegeta.Workers(workers),
		vegeta.Timeout(timeout),
		vegeta.MaxBody(4096),
	}
	if maxWorkers > 0 {
		opts = append(opts, vegeta.MaxWorkers(max(workers, maxWorkers)))
	}
	atk = vegeta.NewAttacker(opts...)
	return atk, tr.CloseIdleConnections
}
