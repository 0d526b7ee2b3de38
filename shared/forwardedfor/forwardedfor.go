// Package forwardedfor reads the client address out of X-Forwarded-For the
// way both HTTP entry points (the proxy's edge and the Lambda's ALB path)
// must agree on.
package forwardedfor

import "strings"

// Client is the client an X-Forwarded-For header names when hops trusted
// proxies appended to it, the nearest last: every line joined in order (a
// client may send several, and the first alone is the client's own
// writing), empty entries dropped, the entry hops from the right, or the
// left-most when there are fewer. "" when there is no entry.
func Client(lines []string, hops int) string {
	var entries []string
	for _, line := range lines {
		for _, e := range strings.Split(line, ",") {
			if e = strings.TrimSpace(e); e != "" {
				entries = append(entries, e)
			}
		}
	}
	if len(entries) == 0 {
		return ""
	}
	return entries[max(0, len(entries)-hops)]
}
