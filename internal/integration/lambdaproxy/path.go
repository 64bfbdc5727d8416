package lambdaproxy

import (
	"fmt"
	"net/url"
	"strings"
)

// EventPath is the path a function sees in rawPath and
// requestContext.http.path (2.0) or path and requestContext.path (1.0) for
// the path raw the client sent (without its query), as HTTP APIs deliver it: percent-decoded,
// cut at a '?' the first decoding produced, then decoded a second time.
// Live captures show exactly this (docs/lambda-proxy.md, "Paths"):
// /a%20b → "/a b", /a%2Fb → "/a/b", /a%3Fb → "/a", /a%23b → "/a#b",
// /a%252Fb → "/a/b", /a%253Fb → "/a?b", /a%2525b → "/a%b". A path whose
// second decoding fails (/a%25zz: "%zz" after the first) is an error: HTTP
// APIs refuse it with 400. '+' stays '+'.
func EventPath(raw string) (string, error) {
	if strings.IndexByte(raw, '%') < 0 {
		return raw, nil
	}
	once, err := url.PathUnescape(raw)
	if err != nil {
		return "", fmt.Errorf("path %q: %w", raw, err)
	}
	if i := strings.IndexByte(once, '?'); i >= 0 {
		once = once[:i]
	}
	if strings.IndexByte(once, '%') < 0 {
		return once, nil
	}
	twice, err := url.PathUnescape(once)
	if err != nil {
		return "", fmt.Errorf("path %q decoded once is %q: %w", raw, once, err)
	}
	return twice, nil
}
