package iam

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Keys is a request's condition context: the values of the condition keys
// Portico can supply for it, keyed by the key's lower-case name. A key that
// is absent was not in the request (S3's s3:prefix on a GetObject, say).
type Keys map[string][]string

// Condition keys Portico fills in. Every other key is refused by
// ParsePolicy, since a condition on a key that is never supplied would
// silently be false (or true, for negated operators).
const (
	KeySourceIP        = "aws:sourceip"        // the caller's IP address
	KeyCurrentTime     = "aws:currenttime"     // RFC 3339, UTC
	KeyEpochTime       = "aws:epochtime"       // seconds since 1970
	KeySecureTransport = "aws:securetransport" // "true" over TLS
	KeyPrincipalARN    = "aws:principalarn"    // the caller's role (or user) ARN
	KeyS3Prefix        = "s3:prefix"           // ListObjects' prefix parameter
	KeyS3Delimiter     = "s3:delimiter"        // ListObjects' delimiter parameter
	KeyS3MaxKeys       = "s3:max-keys"         // ListObjects' max-keys parameter
)

// SupportedKeys lists the condition keys ParsePolicy accepts, as AWS spells
// them.
var SupportedKeys = []string{"aws:SourceIp", "aws:CurrentTime", "aws:EpochTime", "aws:SecureTransport",
	"aws:PrincipalArn", "s3:prefix", "s3:delimiter", "s3:max-keys"}

// NewKeys returns the global condition keys of a request: the caller's
// address (host or host:port; "" leaves aws:SourceIp out), whether it came
// over TLS, the time, and the caller's ARN ("" leaves it out). An
// assumed-role session's ARN (arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION)
// becomes its role's, as AWS fills aws:PrincipalArn.
func NewKeys(sourceAddr string, tls bool, now time.Time, principalARN string) Keys {
	k := Keys{
		KeyCurrentTime:     {now.UTC().Format(time.RFC3339)},
		KeyEpochTime:       {strconv.FormatInt(now.Unix(), 10)},
		KeySecureTransport: {strconv.FormatBool(tls)},
	}
	if ap, err := netip.ParseAddrPort(sourceAddr); err == nil {
		k[KeySourceIP] = []string{ap.Addr().Unmap().String()}
	} else if a, err := netip.ParseAddr(sourceAddr); err == nil {
		k[KeySourceIP] = []string{a.Unmap().String()}
	}
	if rest, ok := strings.CutPrefix(principalARN, "arn:aws:sts::"); ok {
		if account, session, ok := strings.Cut(rest, ":assumed-role/"); ok {
			role, _, _ := strings.Cut(session, "/")
			principalARN = "arn:aws:iam::" + account + ":role/" + role
		}
	}
	if principalARN != "" {
		k[KeyPrincipalARN] = []string{principalARN}
	}
	return k
}

// Set adds or replaces key (any case) with values and returns k.
func (k Keys) Set(key string, values ...string) Keys {
	k[strings.ToLower(key)] = values
	return k
}

// clause is one operator-key pair of a Condition block, such as
// "StringLike": {"s3:prefix": ["home/*"]}.
type clause struct {
	op       string // base operator, e.g. "StringLike"
	key      string // lower-case key
	values   []string
	ifExists bool
	set      string // "", "ForAnyValue" or "ForAllValues"
}

type operator struct {
	negated bool
	// match reports whether the context value v matches the condition
	// value c; an error means c is malformed (caught at parse time).
	match func(c, v string) (bool, error)
}

var operators = map[string]operator{
	"StringEquals":              {false, func(c, v string) (bool, error) { return c == v, nil }},
	"StringNotEquals":           {true, func(c, v string) (bool, error) { return c == v, nil }},
	"StringEqualsIgnoreCase":    {false, func(c, v string) (bool, error) { return strings.EqualFold(c, v), nil }},
	"StringNotEqualsIgnoreCase": {true, func(c, v string) (bool, error) { return strings.EqualFold(c, v), nil }},
	"StringLike":                {false, func(c, v string) (bool, error) { return Match(c, v), nil }},
	"StringNotLike":             {true, func(c, v string) (bool, error) { return Match(c, v), nil }},
	"NumericEquals":             {false, numeric(func(a, b float64) bool { return a == b })},
	"NumericNotEquals":          {true, numeric(func(a, b float64) bool { return a == b })},
	"NumericLessThan":           {false, numeric(func(c, v float64) bool { return v < c })},
	"NumericLessThanEquals":     {false, numeric(func(c, v float64) bool { return v <= c })},
	"NumericGreaterThan":        {false, numeric(func(c, v float64) bool { return v > c })},
	"NumericGreaterThanEquals":  {false, numeric(func(c, v float64) bool { return v >= c })},
	"DateEquals":                {false, date(func(c, v time.Time) bool { return v.Equal(c) })},
	"DateNotEquals":             {true, date(func(c, v time.Time) bool { return v.Equal(c) })},
	"DateLessThan":              {false, date(func(c, v time.Time) bool { return v.Before(c) })},
	"DateLessThanEquals":        {false, date(func(c, v time.Time) bool { return !v.After(c) })},
	"DateGreaterThan":           {false, date(func(c, v time.Time) bool { return v.After(c) })},
	"DateGreaterThanEquals":     {false, date(func(c, v time.Time) bool { return !v.Before(c) })},
	"Bool":                      {false, boolean},
	"IpAddress":                 {false, ipMatch},
	"NotIpAddress":              {true, ipMatch},
	"ArnEquals":                 {false, arnMatch},
	"ArnLike":                   {false, arnMatch},
	"ArnNotEquals":              {true, arnMatch},
	"ArnNotLike":                {true, arnMatch},
}

func numeric(cmp func(c, v float64) bool) func(c, v string) (bool, error) {
	return func(c, v string) (bool, error) {
		cf, err := strconv.ParseFloat(c, 64)
		if err != nil || math.IsNaN(cf) {
			return false, fmt.Errorf("%q is not a number", c)
		}
		vf, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return false, nil
		}
		return cmp(cf, vf), nil
	}
}

func parseDate(s string) (time.Time, bool) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05Z0700", "2006-01-02T15:04Z07:00", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.Unix(n, 0), true
	}
	return time.Time{}, false
}

func date(cmp func(c, v time.Time) bool) func(c, v string) (bool, error) {
	return func(c, v string) (bool, error) {
		ct, ok := parseDate(c)
		if !ok {
			return false, fmt.Errorf("%q is not a date (want ISO 8601, such as 2026-01-31T00:00:00Z, or epoch seconds)", c)
		}
		vt, ok := parseDate(v)
		return ok && cmp(ct, vt), nil
	}
}

func boolean(c, v string) (bool, error) {
	cb, err := strconv.ParseBool(strings.ToLower(c))
	if err != nil || (strings.ToLower(c) != "true" && strings.ToLower(c) != "false") {
		return false, fmt.Errorf("%q is not true or false", c)
	}
	vb, err := strconv.ParseBool(strings.ToLower(v))
	return err == nil && cb == vb, nil
}

func ipMatch(c, v string) (bool, error) {
	pfx, err := netip.ParsePrefix(c)
	if err != nil {
		a, aerr := netip.ParseAddr(c)
		if aerr != nil {
			return false, fmt.Errorf("%q is not an IP address or CIDR block", c)
		}
		pfx = netip.PrefixFrom(a, a.BitLen())
	}
	a, err := netip.ParseAddr(v)
	return err == nil && pfx.Masked().Contains(a.Unmap()), nil
}

// arnMatch compares ARNs the way the Arn operators do: component by
// component (the resource part may contain ':'), each with * and ?.
func arnMatch(c, v string) (bool, error) {
	cp := strings.SplitN(c, ":", 6)
	if c != "*" && (len(cp) != 6 || cp[0] != "arn") {
		return false, fmt.Errorf("%q is not an ARN (arn:partition:service:region:account:resource)", c)
	}
	if c == "*" {
		return true, nil
	}
	vp := strings.SplitN(v, ":", 6)
	if len(vp) != 6 {
		return false, nil
	}
	for i := range cp {
		if !Match(cp[i], vp[i]) {
			return false, nil
		}
	}
	return true, nil
}

// parseCondition parses a statement's Condition block: operator -> key ->
// value(s). It refuses operators and keys Portico cannot evaluate.
func parseCondition(v any, version string) ([]clause, error) {
	m, ok := v.(map[string]any)
	if !ok || len(m) == 0 {
		return nil, fmt.Errorf("Condition must be a non-empty object, got %v", describe(v))
	}
	var out []clause
	for _, name := range sortedKeys(m) {
		c := clause{op: name}
		if set, rest, ok := strings.Cut(name, ":"); ok {
			if set != "ForAnyValue" && set != "ForAllValues" {
				return nil, within(fmt.Errorf("Condition operator %q: unknown set qualifier %q (want ForAnyValue or ForAllValues)", name, set), name)
			}
			c.set, c.op = set, rest
		}
		if base, ok := strings.CutSuffix(c.op, "IfExists"); ok && base != "Null" {
			c.op, c.ifExists = base, true
		}
		op, known := operators[c.op]
		if !known && c.op != "Null" {
			return nil, within(fmt.Errorf("Condition operator %q is not supported (supported: %s, Null, each with IfExists and ForAnyValue:/ForAllValues:)", name, strings.Join(sortedKeys(anyMap(operators)), ", ")), name)
		}
		if c.op == "Null" && c.set != "" {
			return nil, within(fmt.Errorf("Condition operator %q: Null takes no set qualifier", name), name)
		}
		block, ok := m[name].(map[string]any)
		if !ok || len(block) == 0 {
			return nil, within(fmt.Errorf("Condition %s must be a non-empty object of key: value(s), got %v", name, describe(m[name])), name)
		}
		for _, key := range sortedKeys(block) {
			if !slices.ContainsFunc(SupportedKeys, func(k string) bool { return strings.EqualFold(k, key) }) {
				return nil, within(fmt.Errorf("Condition %s: key %q is not one Portico supplies (supported: %s)", name, key, strings.Join(SupportedKeys, ", ")), name, key)
			}
			vals, err := conditionValues(block[key])
			if err != nil {
				return nil, within(fmt.Errorf("Condition %s %s: %w", name, key, err), name, key)
			}
			for _, cv := range vals {
				if version == "2012-10-17" && strings.Contains(cv, "${") {
					return nil, within(fmt.Errorf("Condition %s %s: policy variables are not supported, got %q", name, key, cv), name, key)
				}
				if c.op == "Null" {
					if cv != "true" && cv != "false" {
						return nil, within(fmt.Errorf("Condition Null %s: want true or false, got %q", key, cv), name, key)
					}
					continue
				}
				if _, err := op.match(cv, ""); err != nil {
					return nil, within(fmt.Errorf("Condition %s %s: %w", name, key, err), name, key)
				}
			}
			cl := c
			cl.key, cl.values = strings.ToLower(key), vals
			out = append(out, cl)
		}
	}
	return out, nil
}

func anyMap[V any](m map[string]V) map[string]any {
	out := make(map[string]any, len(m))
	for k := range m {
		out[k] = nil
	}
	return out
}

// conditionValues accepts a string, number or boolean, or a non-empty array
// of them, as policies write condition values.
func conditionValues(v any) ([]string, error) {
	one := func(e any) (string, error) {
		switch e := e.(type) {
		case string:
			return e, nil
		case bool:
			return strconv.FormatBool(e), nil
		case int:
			return strconv.Itoa(e), nil
		case int64:
			return strconv.FormatInt(e, 10), nil
		case uint64:
			return strconv.FormatUint(e, 10), nil
		case float64:
			return strconv.FormatFloat(e, 'f', -1, 64), nil
		}
		return "", fmt.Errorf("value must be a string, number or boolean, got %v", describe(e))
	}
	list, isList := v.([]any)
	if !isList {
		s, err := one(v)
		return []string{s}, err
	}
	if len(list) == 0 {
		return nil, errors.New("value must not be an empty array")
	}
	out := make([]string, 0, len(list))
	for _, e := range list {
		s, err := one(e)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// HasConditions reports whether some statement of p has a Condition.
func (p *Policy) HasConditions() bool {
	for i := range p.Statements {
		if len(p.Statements[i].conditions) > 0 {
			return true
		}
	}
	return false
}

// AnyConditions reports whether some policy of ps has a Condition: when
// none has, callers may skip building the request's Keys (nil keys decide
// the same).
func AnyConditions(ps []*Policy) bool {
	for _, p := range ps {
		if p != nil && p.HasConditions() {
			return true
		}
	}
	return false
}

// holds reports whether every clause holds for keys (clauses are ANDed).
func holds(clauses []clause, keys Keys) bool {
	for i := range clauses {
		if !clauses[i].holds(keys) {
			return false
		}
	}
	return true
}

func (c *clause) holds(keys Keys) bool {
	ctx, present := keys[c.key]
	present = present && len(ctx) > 0
	if c.op == "Null" {
		return (c.values[0] == "true") != present
	}
	op := operators[c.op]
	if !present {
		switch {
		case c.ifExists:
			return true
		case c.set == "ForAllValues":
			return true // vacuously: no value fails
		case c.set == "ForAnyValue":
			return false
		default:
			return op.negated
		}
	}
	// matchesAny: the context value v matches one of the condition values.
	matchesAny := func(v string) bool {
		for _, cv := range c.values {
			if ok, _ := op.match(cv, v); ok {
				return true
			}
		}
		return false
	}
	// ok: v satisfies the operator (for a negated one: matches none).
	ok := func(v string) bool { return matchesAny(v) != op.negated }
	switch c.set {
	case "ForAllValues":
		for _, v := range ctx {
			if !ok(v) {
				return false
			}
		}
		return true
	default: // ForAnyValue, and a single-valued key (its one value)
		for _, v := range ctx {
			if ok(v) {
				return true
			}
		}
		return false
	}
}
