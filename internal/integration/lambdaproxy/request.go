package lambdaproxy

import (
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/portico-dev/portico/internal/integration"
	"github.com/portico-dev/portico/internal/xrayid"
)

// This file derives, from an *integration.Request, the pieces both payload
// formats share: the header list with the headers API Gateway adds, the
// decoded query parameters, the cookie list, the body encoding and the
// X-Ray trace id. Everything works on stack buffers so that encoding a
// typical request does not allocate.

// hdrKind says how a header entry's value is produced.
type hdrKind uint8

const (
	hdrPlain hdrKind = iota // vals as received
	hdrValue                // the single value in val
	hdrXFF                  // vals (the client's x-forwarded-for), then ", " and val (the source IP)
	hdrPort                 // the decimal port in port
	hdrTrace                // a trace id derived from the request
)

// hdr is one header of the event. name is either the http.Header key (any
// case; written lower-cased) or a lower-case literal.
type hdr struct {
	name string
	vals []string
	val  string
	port int
	kind hdrKind
}

// headers that API Gateway sets itself and a client cannot supply.
func isGatewaySet(name string) bool {
	return strings.EqualFold(name, "x-forwarded-port") ||
		strings.EqualFold(name, "x-forwarded-proto") ||
		strings.EqualFold(name, "x-forwarded-for") ||
		strings.EqualFold(name, "host")
}

// collectHeaders appends the event's headers to hs, sorted by lower-cased
// name; entries whose names differ only in case are adjacent. With
// dropCookie the cookie header is left out (payload 2.0 moves it to
// cookies).
func collectHeaders(hs []hdr, r *integration.Request, dropCookie bool) []hdr {
	hasTrace := false
	var xff []string
	if r.HTTP != nil {
		for k, vs := range r.HTTP.Header {
			switch {
			case dropCookie && strings.EqualFold(k, "cookie"):
				continue
			case strings.EqualFold(k, "x-forwarded-for"):
				xff = append(xff, vs...)
				continue
			case isGatewaySet(k):
				continue
			case strings.EqualFold(k, "x-amzn-trace-id"):
				hasTrace = true
			}
			hs = append(hs, hdr{name: k, vals: vs})
		}
		if r.HTTP.Host != "" {
			hs = append(hs, hdr{name: "host", val: r.HTTP.Host, kind: hdrValue})
		}
	}
	if !hasTrace {
		hs = append(hs, hdr{name: "x-amzn-trace-id", kind: hdrTrace})
	}
	hs = append(hs,
		hdr{name: "x-forwarded-for", vals: xff, val: r.SourceIP, kind: hdrXFF},
		hdr{name: "x-forwarded-port", port: localPort(r.HTTP), kind: hdrPort},
		hdr{name: "x-forwarded-proto", val: scheme(r.HTTP), kind: hdrValue},
	)
	slices.SortFunc(hs, func(a, b hdr) int {
		if c := compareFold(a.name, b.name); c != 0 {
			return c
		}
		return strings.Compare(a.name, b.name) // same name in other cases: a fixed order
	})
	return hs
}

// appendHeaderValues appends the values of h (without quotes), joined by sep.
func appendHeaderValues(dst []byte, h *hdr, r *integration.Request, sep string) []byte {
	switch h.kind {
	case hdrValue:
		return appendStringBody(dst, h.val)
	case hdrPort:
		return strconv.AppendInt(dst, int64(h.port), 10)
	case hdrTrace:
		return appendTraceID(dst, r)
	case hdrXFF:
		for _, v := range h.vals {
			dst = appendStringBody(dst, v)
			dst = append(dst, ", "...)
		}
		return appendStringBody(dst, h.val)
	}
	for i, v := range h.vals {
		if i > 0 {
			dst = append(dst, sep...)
		}
		dst = appendStringBody(dst, v)
	}
	return dst
}

// appendLower appends s lower-cased (ASCII) and escaped, without quotes.
func appendLower(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			var buf [128]byte
			b := append(buf[:0], s...)
			for j := i; j < len(b); j++ {
				if c := b[j]; c >= 'A' && c <= 'Z' {
					b[j] = c + ('a' - 'A')
				}
			}
			return appendStringBody(dst, b)
		}
	}
	return appendStringBody(dst, s)
}

// compareFold compares a and b ASCII-case-insensitively.
func compareFold(a, b string) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		ca, cb := lower(a[i]), lower(b[i])
		if ca != cb {
			if ca < cb {
				return -1
			}
			return 1
		}
	}
	return len(a) - len(b)
}

func lower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + ('a' - 'A')
	}
	return c
}

// localPort is the port the client connected to, from the server's local
// address, else from the Host header, else the scheme's default.
func localPort(r *http.Request) int {
	if r == nil {
		return 80
	}
	if a, ok := r.Context().Value(http.LocalAddrContextKey).(*net.TCPAddr); ok && a.Port != 0 {
		return a.Port
	}
	if i := strings.LastIndexByte(r.Host, ':'); i >= 0 && !strings.Contains(r.Host[i:], "]") {
		if p, err := strconv.Atoi(r.Host[i+1:]); err == nil {
			return p
		}
	}
	if r.TLS != nil {
		return 443
	}
	return 80
}

// scheme is the protocol of the client's connection.
func scheme(r *http.Request) string {
	if r != nil && r.TLS != nil {
		return "https"
	}
	return "http"
}

// appendTraceID appends the request's X-Ray trace id: the client's
// X-Amzn-Trace-Id when it sent one, else Root=1-<epoch seconds, 8 hex>-<24
// hex> derived from the request id, so that every encoding of one request
// (and the invocation's TraceID) carries the same value.
func appendTraceID(dst []byte, r *integration.Request) []byte {
	if r.HTTP != nil {
		if v := r.HTTP.Header.Values("X-Amzn-Trace-Id"); len(v) > 0 {
			return appendStringBody(dst, v[0])
		}
	}
	return xrayid.Derive(r.Time, r.RequestID).Append(append(dst, "Root="...))
}

// TraceID is the X-Ray trace header value the event carries in
// x-amzn-trace-id and the invocation is given.
func TraceID(r *integration.Request) string {
	var buf [64]byte
	return string(appendTraceID(buf[:0], r))
}

// qpair is one query parameter: the decoded key and the raw value.
type qpair struct {
	key string
	raw string
}

// splitQuery appends rawQuery's parameters to ps in order. Empty pairs are
// skipped; a pair without '=' has an empty value. Keys are decoded
// ('+' is a space, %XX escapes; malformed escapes are kept literally).
func splitQuery(ps []qpair, rawQuery string) []qpair {
	for rawQuery != "" {
		var pair string
		pair, rawQuery, _ = strings.Cut(rawQuery, "&")
		if pair == "" {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		ps = append(ps, qpair{key: decodeQueryKey(k), raw: v})
	}
	return ps
}

func decodeQueryKey(k string) string {
	if !strings.ContainsAny(k, "%+") {
		return k
	}
	var buf [128]byte
	return string(appendUnescaped(buf[:0], k))
}

// appendUnescaped appends s query-decoded: '+' becomes a space and valid
// %XX escapes their byte; anything else is copied.
func appendUnescaped(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '+':
			dst = append(dst, ' ')
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			dst = append(dst, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

// appendQueryValue appends the decoded, escaped value (without quotes).
func appendQueryValue(dst []byte, raw string) []byte {
	if !strings.ContainsAny(raw, "%+") {
		return appendStringBody(dst, raw)
	}
	var buf [256]byte
	return appendStringBody(dst, appendUnescaped(buf[:0], raw))
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case '0' <= c && c <= '9':
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}

// firstIndex reports whether ps[i] is the first pair with its key.
func firstIndex(ps []qpair, i int) bool {
	for j := range i {
		if ps[j].key == ps[i].key {
			return false
		}
	}
	return true
}

// forEachCookie calls f with every cookie pair of the request's Cookie
// header lines: split on ';', trimmed, empty pieces skipped.
func forEachCookie(r *http.Request, f func(string)) {
	if r == nil {
		return
	}
	for k, vs := range r.Header {
		if !strings.EqualFold(k, "cookie") {
			continue
		}
		for _, v := range vs {
			for v != "" {
				var c string
				c, v, _ = strings.Cut(v, ";")
				if c = strings.TrimSpace(c); c != "" {
					f(c)
				}
			}
		}
	}
}

// isTextBody reports whether a body of this Content-Type is passed as text
// (isBase64Encoded false). Parameters are ignored; text/*,
// application/json, application/xml and application/javascript are text,
// everything else (including no Content-Type and structured-syntax suffix
// types such as application/vnd.api+json) is base64. See
// docs/lambda-proxy.md.
func isTextBody(contentType string) bool {
	if contentType == "" {
		return false
	}
	mt := contentType
	if i := strings.IndexByte(mt, ';'); i >= 0 {
		mt = mt[:i]
	}
	mt = strings.TrimSpace(mt)
	if len(mt) >= 5 && strings.EqualFold(mt[:5], "text/") {
		return len(mt) > 5
	}
	return strings.EqualFold(mt, "application/json") ||
		strings.EqualFold(mt, "application/xml") ||
		strings.EqualFold(mt, "application/javascript")
}

// bodyIsText decides the body encoding of r.
func bodyIsText(r *integration.Request) bool {
	if r.HTTP == nil {
		return false
	}
	return isTextBody(r.HTTP.Header.Get("Content-Type"))
}

// domainPrefix is the first label of the domain name.
func domainPrefix(domain string) string {
	if i := strings.IndexByte(domain, '.'); i >= 0 {
		return domain[:i]
	}
	return domain
}

// routePath is the path part of a route key ("GET /a/{b}" -> "/a/{b}");
// for the $default route it is the stage-relative request path.
func routePath(r *integration.Request) string {
	if _, p, ok := strings.Cut(r.RouteKey, " "); ok {
		return p
	}
	return r.Path
}

// method is the request method ("GET" when the request is missing).
func method(r *integration.Request) string {
	if r.HTTP == nil || r.HTTP.Method == "" {
		return http.MethodGet
	}
	return r.HTTP.Method
}

func rawQuery(r *integration.Request) string {
	if r.HTTP == nil || r.HTTP.URL == nil {
		return ""
	}
	return r.HTTP.URL.RawQuery
}

func userAgent(r *integration.Request) string {
	if r.HTTP == nil {
		return ""
	}
	return r.HTTP.Header.Get("User-Agent")
}

// clfTime is the request time layout of requestContext.time/requestTime.
const clfTime = "02/Jan/2006:15:04:05 +0000"
