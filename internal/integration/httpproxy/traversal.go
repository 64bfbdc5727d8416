package httpproxy

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/portico-dev/portico/internal/edge"
	"github.com/portico-dev/portico/internal/integration"
)

// checkTraversal refuses a request whose values would move the upstream
// request out of the path the route's template gives it (see "Paths that
// leave the template" in docs/http-proxy.md):
//
//   - a dot segment ("." or "..", written plainly or percent-encoded, and
//     with "\" counted as a separator as some servers do) in a path
//     parameter or, on the $default route, in the client's path: 400, since
//     the upstream would resolve it against the template's prefix;
//   - a "/" (sent as %2F) inside a single-segment parameter {name}: 404,
//     as API Gateway decodes the path before matching routes, so such a
//     request matches no route there.
//
// A greedy parameter {name+} may hold "/" (it spans segments).
func checkTraversal(r *integration.Request) error {
	for name, v := range r.PathParameters {
		if hasDotSegment(v) {
			return edge.New(edge.BadRequest, fmt.Errorf("path parameter %s: dot segment in %q", name, v))
		}
		if strings.IndexByte(v, '/') >= 0 && !greedy(r.RouteKey, name) {
			return edge.New(edge.NotFound, fmt.Errorf("path parameter %s: encoded slash in %q", name, v))
		}
	}
	if r.RouteKey == "$default" {
		for seg := range strings.SplitSeq(r.RawPath, "/") {
			if strings.IndexByte(seg, '%') >= 0 {
				if d, err := url.PathUnescape(seg); err == nil {
					seg = d
				}
			}
			if hasDotSegment(seg) {
				return edge.New(edge.BadRequest, errors.New("dot segment in the path"))
			}
		}
	}
	return nil
}

// hasDotSegment reports whether s, split on "/" and "\", has a "." or ".."
// segment.
func hasDotSegment(s string) bool {
	if strings.IndexByte(s, '.') < 0 {
		return false
	}
	for len(s) > 0 {
		i := strings.IndexAny(s, `/\`)
		seg := s
		if i >= 0 {
			seg, s = s[:i], s[i+1:]
		} else {
			s = ""
		}
		if seg == "." || seg == ".." {
			return true
		}
	}
	return false
}

// greedy reports whether the route key declares {name+}.
func greedy(routeKey, name string) bool {
	return strings.Contains(routeKey, "{"+name+"+}")
}
