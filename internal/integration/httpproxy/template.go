package httpproxy

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// partKind says what a template part expands to.
type partKind uint8

const (
	partLiteral  partKind = iota // the text itself
	partPathVar                  // {name}: a path parameter of the matched route
	partStageVar                 // ${stageVariables.name}: a stage variable
)

type part struct {
	kind partKind
	text string // literal text, or the variable's name
}

// uriTemplate is a parsed integration URI. The hot path only walks its parts.
type uriTemplate struct {
	https bool

	// host is the authority when it holds no stage variable: "h:port" as
	// written (the Host header) and addr, with the default port, for dialing.
	host, addr string
	hostParts  []part // non-nil when the authority holds stage variables

	path        []part // empty means "/"
	hasPathVars bool
	query       []part // the template's own query, without '?'
}

const stageVarPrefix = "${stageVariables."

// parseTemplate compiles an integration URI such as
// "http://127.0.0.1:11434/{proxy}?v=${stageVariables.v}".
func parseTemplate(raw string) (*uriTemplate, error) {
	t := &uriTemplate{}
	rest := raw
	switch {
	case hasPrefixFold(rest, "http://"):
		rest = rest[len("http://"):]
	case hasPrefixFold(rest, "https://"):
		t.https = true
		rest = rest[len("https://"):]
	default:
		return nil, errors.New("scheme must be http:// or https://")
	}
	if strings.ContainsAny(raw, "#") {
		return nil, errors.New("a fragment (#) is not allowed")
	}
	for i := 0; i < len(raw); i++ {
		if c := raw[i]; c <= ' ' || c >= 0x7f {
			return nil, fmt.Errorf("byte %q at offset %d must be percent-encoded", c, i)
		}
	}
	end := strings.IndexAny(rest, "/?")
	if end < 0 {
		end = len(rest)
	}
	authority, rest := rest[:end], rest[end:]
	if strings.Contains(authority, "@") {
		return nil, errors.New("user information in the host is not allowed")
	}
	hostParts, err := parseParts(authority, false)
	if err != nil {
		return nil, fmt.Errorf("host: %w", err)
	}
	if len(hostParts) == 0 {
		return nil, errors.New("host is empty")
	}
	if len(hostParts) == 1 && hostParts[0].kind == partLiteral {
		t.host, t.addr, err = checkHost(authority, t.https)
		if err != nil {
			return nil, err
		}
	} else {
		t.hostParts = hostParts
	}

	pathText, queryText := rest, ""
	if q := strings.IndexByte(rest, '?'); q >= 0 {
		pathText, queryText = rest[:q], rest[q+1:]
	}
	if t.path, err = parseParts(pathText, true); err != nil {
		return nil, fmt.Errorf("path: %w", err)
	}
	for _, p := range t.path {
		if p.kind == partPathVar {
			t.hasPathVars = true
		}
	}
	if t.query, err = parseParts(queryText, false); err != nil {
		return nil, fmt.Errorf("query: %w", err)
	}
	return t, nil
}

// parseParts splits s into literals and variables. Path variables are only
// allowed when pathVars is set.
func parseParts(s string, pathVars bool) ([]part, error) {
	var parts []part
	lit := 0
	for i := 0; i < len(s); {
		switch {
		case strings.HasPrefix(s[i:], "${"):
			if !strings.HasPrefix(s[i:], stageVarPrefix) {
				return nil, fmt.Errorf("unknown variable at offset %d: only ${stageVariables.name} is supported", i)
			}
			j := strings.IndexByte(s[i:], '}')
			if j < 0 {
				return nil, fmt.Errorf("unterminated stage variable at offset %d", i)
			}
			name := s[i+len(stageVarPrefix) : i+j]
			if !validName(name) {
				return nil, fmt.Errorf("invalid stage variable name %q", name)
			}
			if lit < i {
				parts = append(parts, part{partLiteral, s[lit:i]})
			}
			parts = append(parts, part{partStageVar, name})
			i += j + 1
			lit = i
		case s[i] == '{':
			j := strings.IndexByte(s[i:], '}')
			if j < 0 {
				return nil, fmt.Errorf("unterminated path variable at offset %d", i)
			}
			name := s[i+1 : i+j]
			if !pathVars {
				return nil, fmt.Errorf("path variable {%s} is only allowed in the path", name)
			}
			if !validName(name) {
				return nil, fmt.Errorf("invalid path variable name %q", name)
			}
			if lit < i {
				parts = append(parts, part{partLiteral, s[lit:i]})
			}
			parts = append(parts, part{partPathVar, name})
			i += j + 1
			lit = i
		case s[i] == '}':
			return nil, fmt.Errorf("unbalanced '}' at offset %d", i)
		default:
			i++
		}
	}
	if lit < len(s) {
		parts = append(parts, part{partLiteral, s[lit:]})
	}
	return parts, nil
}

func validName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// checkHost validates an authority and returns it (for the Host header) and
// the address to dial, with the scheme's default port when none is given.
func checkHost(authority string, https bool) (host, addr string, err error) {
	if authority == "" {
		return "", "", errors.New("host is empty")
	}
	for i := 0; i < len(authority); i++ {
		c := authority[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_' || c == ':' || c == '[' || c == ']' || c == '%') {
			return "", "", fmt.Errorf("host %q: invalid character %q", authority, c)
		}
	}
	u, err := url.Parse("http://" + authority)
	if err != nil || u.Host != authority || u.Hostname() == "" {
		return "", "", fmt.Errorf("host %q is not a valid host[:port]", authority)
	}
	port := u.Port()
	if port == "" {
		port = "80"
		if https {
			port = "443"
		}
	} else if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return "", "", fmt.Errorf("host %q: invalid port", authority)
	}
	return authority, net.JoinHostPort(u.Hostname(), port), nil
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// resolveHost returns the Host header value and dial address for one request.
func (t *uriTemplate) resolveHost(stageVars map[string]string) (host, addr string, err error) {
	if t.hostParts == nil {
		return t.host, t.addr, nil
	}
	var b strings.Builder
	for _, p := range t.hostParts {
		if p.kind == partStageVar {
			b.WriteString(stageVars[p.text])
		} else {
			b.WriteString(p.text)
		}
	}
	return checkHost(b.String(), t.https)
}

// appendTarget appends the request-target (path and query) for one request:
// path variables from params, path-escaped segment by segment; stage
// variables from stageVars, escaped the same way in the path and
// query-escaped in the query; then the client's raw query. When appendPath
// is set (the $default route and a template without path variables),
// clientPath, already escaped, is appended to the template's path.
func (t *uriTemplate) appendTarget(dst []byte, params, stageVars map[string]string, appendPath bool, clientPath, rawQuery string) []byte {
	start := len(dst)
	for _, p := range t.path {
		switch p.kind {
		case partLiteral:
			dst = append(dst, p.text...)
		case partPathVar:
			dst = appendPathEscaped(dst, params[p.text])
		case partStageVar:
			dst = appendPathEscaped(dst, stageVars[p.text])
		}
	}
	if appendPath && clientPath != "" {
		for len(dst) > start && dst[len(dst)-1] == '/' {
			dst = dst[:len(dst)-1]
		}
		if clientPath[0] != '/' {
			dst = append(dst, '/')
		}
		dst = append(dst, clientPath...)
	}
	if len(dst) == start || dst[start] != '/' {
		dst = append(dst, 0)
		copy(dst[start+1:], dst[start:])
		dst[start] = '/'
	}
	q := len(dst)
	for _, p := range t.query {
		if p.kind == partStageVar {
			dst = append(dst, url.QueryEscape(stageVars[p.text])...)
		} else {
			dst = append(dst, p.text...)
		}
	}
	if rawQuery != "" {
		if len(dst) > q && dst[len(dst)-1] != '&' {
			dst = append(dst, '&')
		}
		dst = append(dst, rawQuery...)
	}
	if len(dst) > q {
		dst = append(dst, 0)
		copy(dst[q+1:], dst[q:])
		dst[q] = '?'
	}
	return dst
}

// appendPathEscaped appends s with every '/'-separated segment
// percent-encoded as a path segment; the slashes themselves are kept.
func appendPathEscaped(dst []byte, s string) []byte {
	const hex = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '/' || shouldKeep(c) {
			dst = append(dst, c)
		} else {
			dst = append(dst, '%', hex[c>>4], hex[c&15])
		}
	}
	return dst
}

// shouldKeep reports whether c may appear unescaped in a path segment
// (RFC 3986 pchar minus '%', which always gets escaped since values are
// decoded).
func shouldKeep(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	switch c {
	case '-', '.', '_', '~', '!', '$', '&', '\'', '(', ')', '*', '+', ',', ';', '=', ':', '@':
		return true
	}
	return false
}
