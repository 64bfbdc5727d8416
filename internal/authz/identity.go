// Package authz holds what the gateway's authorizers share: identity source
// selection expressions and route ARNs. The authorizers themselves live in
// subpackages (jwt, and the Lambda REQUEST authorizer).
package authz

import (
	"errors"
	"fmt"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"

	"github.com/portico-dev/portico/internal/httptoken"
	"github.com/portico-dev/portico/internal/integration"
)

// sourceKind is where an identity source reads its value from.
type sourceKind uint8

const (
	kindNone sourceKind = iota
	kindHeader
	kindQuery
	kindContext
	kindStageVariable
)

// The expression prefixes API Gateway accepts for identity sources.
const (
	prefixHeader   = "$request.header."
	prefixQuery    = "$request.querystring."
	prefixContext  = "$context."
	prefixStageVar = "$stageVariables."
)

// contextVars are the $context variables a Source can resolve. Each reads
// one field of the request, as API Gateway's $context variables do.
var contextVars = map[string]func(r *integration.Request) string{
	"requestId":         func(r *integration.Request) string { return r.RequestID },
	"extendedRequestId": func(r *integration.Request) string { return r.RequestID },
	"routeKey":          func(r *integration.Request) string { return r.RouteKey },
	"stage":             func(r *integration.Request) string { return r.Stage },
	"apiId":             func(r *integration.Request) string { return r.APIID },
	"accountId":         func(r *integration.Request) string { return r.AccountID },
	"domainName":        func(r *integration.Request) string { return r.DomainName },
	"domainPrefix": func(r *integration.Request) string {
		if i := strings.IndexByte(r.DomainName, '.'); i >= 0 {
			return r.DomainName[:i]
		}
		return r.DomainName
	},
	"path": func(r *integration.Request) string { return r.RawPath },
	"httpMethod": func(r *integration.Request) string {
		if r.HTTP == nil {
			return ""
		}
		return r.HTTP.Method
	},
	"protocol":          func(r *integration.Request) string { return integration.Protocol(r.HTTP) },
	"identity.sourceIp": func(r *integration.Request) string { return r.SourceIP },
	"identity.userAgent": func(r *integration.Request) string {
		if r.HTTP == nil {
			return ""
		}
		return r.HTTP.UserAgent()
	},
	"requestTimeEpoch": func(r *integration.Request) string {
		if r.Time.IsZero() {
			return ""
		}
		return strconv.FormatInt(r.Time.UnixMilli(), 10)
	},
}

// Source is one identity source selection expression:
// $request.header.NAME (name matched case-insensitively),
// $request.querystring.NAME (case-sensitive), $context.NAME or
// $stageVariables.NAME. The zero Source resolves to nothing. Sources are
// immutable values, safe for concurrent use.
type Source struct {
	kind sourceKind
	name string // canonical header name for headers; as written otherwise
	expr string
}

// ParseSource parses an identity source selection expression. It fails for
// an unknown prefix, an empty or invalid name, or a $context variable this
// package cannot resolve.
func ParseSource(expr string) (Source, error) {
	var kind sourceKind
	var name string
	switch {
	case strings.HasPrefix(expr, prefixHeader):
		kind, name = kindHeader, expr[len(prefixHeader):]
	case strings.HasPrefix(expr, prefixQuery):
		kind, name = kindQuery, expr[len(prefixQuery):]
	case strings.HasPrefix(expr, prefixContext):
		kind, name = kindContext, expr[len(prefixContext):]
	case strings.HasPrefix(expr, prefixStageVar):
		kind, name = kindStageVariable, expr[len(prefixStageVar):]
	default:
		return Source{}, fmt.Errorf("identity source %q: want $request.header.NAME, $request.querystring.NAME, $context.NAME or $stageVariables.NAME", expr)
	}
	if name == "" {
		return Source{}, fmt.Errorf("identity source %q: empty name", expr)
	}
	switch kind {
	case kindHeader:
		if !httptoken.Valid(name) {
			return Source{}, fmt.Errorf("identity source %q: invalid header name", expr)
		}
		name = textproto.CanonicalMIMEHeaderKey(name)
	case kindContext:
		if _, ok := contextVars[name]; !ok {
			return Source{}, fmt.Errorf("identity source %q: unsupported $context variable %q", expr, name)
		}
	default:
		if strings.ContainsAny(name, " \t\r\n") {
			return Source{}, fmt.Errorf("identity source %q: name contains white space", expr)
		}
	}
	return Source{kind: kind, name: name, expr: expr}, nil
}

// String returns the expression s was parsed from.
func (s Source) String() string { return s.expr }

// IsHeader reports whether s is a $request.header expression.
func (s Source) IsHeader() bool { return s.kind == kindHeader }

// IsQueryString reports whether s is a $request.querystring expression.
func (s Source) IsQueryString() bool { return s.kind == kindQuery }

// Value resolves s for r; ok is false when the value is absent or empty.
// A header or query parameter sent several times resolves to its values
// joined with commas, as API Gateway joins them in events.
func (s Source) Value(r *integration.Request) (v string, ok bool) {
	if r == nil {
		return "", false
	}
	switch s.kind {
	case kindHeader:
		if r.HTTP == nil {
			return "", false
		}
		vs := r.HTTP.Header[s.name]
		if len(vs) == 0 {
			// Headers set without canonicalisation (tests, HTTP/2 oddities).
			for k, kv := range r.HTTP.Header {
				if strings.EqualFold(k, s.name) {
					vs = kv
					break
				}
			}
		}
		v = joinNonEmpty(vs)
	case kindQuery:
		if r.HTTP == nil || r.HTTP.URL == nil || r.HTTP.URL.RawQuery == "" {
			return "", false
		}
		v = joinNonEmpty(queryValues(r.HTTP.URL.RawQuery, s.name))
	case kindContext:
		v = contextVars[s.name](r)
	case kindStageVariable:
		v = r.StageVariables[s.name]
	default:
		return "", false
	}
	return v, v != ""
}

// RouteARN is arn:aws:execute-api:REGION:ACCOUNT:APIID/STAGE/METHOD/PATH
// with the stage-relative request path without its leading slash, or
// .../STAGE/$default for the $default route (reference aws-http-api.md
// §6.2).
func RouteARN(region string, r *integration.Request) string {
	var b strings.Builder
	b.Grow(64 + len(r.Path))
	b.WriteString("arn:aws:execute-api:")
	b.WriteString(region)
	b.WriteByte(':')
	b.WriteString(r.AccountID)
	b.WriteByte(':')
	b.WriteString(r.APIID)
	b.WriteByte('/')
	b.WriteString(r.Stage)
	b.WriteByte('/')
	if r.RouteKey == "$default" {
		b.WriteString("$default")
		return b.String()
	}
	if r.HTTP != nil {
		b.WriteString(r.HTTP.Method)
	}
	b.WriteByte('/')
	b.WriteString(strings.TrimPrefix(r.Path, "/"))
	return b.String()
}

// queryValues returns the decoded values of the parameter named name
// (compared case-sensitively after decoding) in a raw query string.
// Malformed pairs are skipped, as net/url does.
func queryValues(raw, name string) []string {
	var out []string
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		if pair == "" || strings.Contains(pair, ";") {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		if k != name {
			dk, err := url.QueryUnescape(k)
			if err != nil || dk != name {
				continue
			}
		}
		dv, err := url.QueryUnescape(v)
		if err != nil {
			continue
		}
		out = append(out, dv)
	}
	return out
}

func joinNonEmpty(vs []string) string {
	switch len(vs) {
	case 0:
		return ""
	case 1:
		return vs[0]
	}
	n := 0
	for _, v := range vs {
		if v != "" {
			n++
		}
	}
	if n == 0 {
		return ""
	}
	return strings.Join(vs, ",")
}

// ParseSources parses each expression in exprs, reporting every bad one.
func ParseSources(exprs []string) ([]Source, error) {
	out := make([]Source, 0, len(exprs))
	var errs []error
	for _, e := range exprs {
		s, err := ParseSource(e)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, s)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, nil
}
