package jwt

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// claims is a verified token payload, decoded with numbers kept as written.
type claims struct {
	m map[string]any
}

func decodeClaims(payload []byte) (*claims, error) {
	d := json.NewDecoder(bytes.NewReader(payload))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		return nil, fmt.Errorf("claims: %w", err)
	}
	if m == nil {
		return nil, errors.New("claims: not a JSON object")
	}
	if _, err := d.Token(); err == nil {
		return nil, errors.New("claims: trailing data")
	}
	return &claims{m: m}, nil
}

// time returns the NumericDate claim name; ok is false when it is absent.
func (c *claims) time(name string) (t time.Time, ok bool, err error) {
	v, present := c.m[name]
	if !present {
		return time.Time{}, false, nil
	}
	n, isNum := v.(json.Number)
	if !isNum {
		return time.Time{}, false, fmt.Errorf("claim %s: not a number", name)
	}
	f, err := n.Float64()
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f < 0 || f > 1<<40 {
		return time.Time{}, false, fmt.Errorf("claim %s: %q is not a valid date", name, n.String())
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)), true, nil
}

// scopes returns the token's scopes: the space-separated scope claim, and
// the scp claim as an array of strings or a space-separated string. nil when
// it has none.
func (c *claims) scopes() []string {
	var out []string
	add := func(s string) {
		for _, f := range strings.Fields(s) {
			if !slices.Contains(out, f) {
				out = append(out, f)
			}
		}
	}
	if s, ok := c.m["scope"].(string); ok {
		add(s)
	}
	switch v := c.m["scp"].(type) {
	case string:
		add(v)
	case []any:
		for _, e := range v {
			if s, ok := e.(string); ok && s != "" && !slices.Contains(out, s) {
				out = append(out, s)
			}
		}
	}
	return out
}

// strings renders every claim as API Gateway does for
// requestContext.authorizer.jwt.claims (see docs/authorizers-jwt.md).
func (c *claims) strings() map[string]string {
	out := make(map[string]string, len(c.m))
	var b strings.Builder
	for k, v := range c.m {
		if s, ok := v.(string); ok {
			out[k] = s
			continue
		}
		b.Reset()
		writeValue(&b, v)
		out[k] = b.String()
	}
	return out
}

// writeValue renders one claim value: strings as is, numbers in plain
// decimal, booleans as true/false, null as "null", arrays as "[a b]" and
// objects as "map[k:v]" with sorted keys.
func writeValue(b *strings.Builder, v any) {
	switch v := v.(type) {
	case string:
		b.WriteString(v)
	case json.Number:
		b.WriteString(plainNumber(v))
	case bool:
		b.WriteString(strconv.FormatBool(v))
	case nil:
		b.WriteString("null")
	case []any:
		b.WriteByte('[')
		for i, e := range v {
			if i > 0 {
				b.WriteByte(' ')
			}
			writeValue(b, e)
		}
		b.WriteByte(']')
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b.WriteString("map[")
		for i, k := range keys {
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(k)
			b.WriteByte(':')
			writeValue(b, v[k])
		}
		b.WriteByte(']')
	default:
		fmt.Fprint(b, v)
	}
}

// plainNumber writes a JSON number without exponent: integers keep their
// digits exactly; others are formatted as the shortest decimal.
func plainNumber(n json.Number) string {
	s := n.String()
	if !strings.ContainsAny(s, ".eE") {
		return s
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return s
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}
