package lambdaproxy

import (
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"unicode/utf8"
)

// This file holds the allocation-free JSON appenders the event encoders are
// built from. Strings are escaped so that any byte sequence yields valid
// JSON: control characters become escapes and every byte that is not part of
// a valid UTF-8 sequence becomes U+FFFD, exactly as encoding/json does.
// Unlike encoding/json, '<', '>' and '&' are written as is (API Gateway does
// not HTML-escape event JSON).

const hexDigits = "0123456789abcdef"

// appendString appends s as a quoted JSON string.
func appendString[T ~string | ~[]byte](dst []byte, s T) []byte {
	dst = append(dst, '"')
	dst = appendStringBody(dst, s)
	return append(dst, '"')
}

// appendStringBody appends the escaped content of s without quotes, so
// several pieces can make up one JSON string.
func appendStringBody[T ~string | ~[]byte](dst []byte, s T) []byte {
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		end := min(i+utf8.UTFMax, len(s))
		r, size := utf8.DecodeRune([]byte(s[i:end]))
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, "\ufffd"...)
			i++
			start = i
			continue
		}
		i += size
	}
	return append(dst, s[start:]...)
}

// appendKey appends "key": (key is a trusted literal or user data alike).
func appendKey(dst []byte, key string) []byte {
	dst = appendString(dst, key)
	return append(dst, ':')
}

// appendStringMap appends m as a JSON object with keys in sorted order, or
// null when m is empty and nullWhenEmpty is set (an empty object otherwise).
func appendStringMap(dst []byte, m map[string]string, nullWhenEmpty bool) []byte {
	if len(m) == 0 {
		if nullWhenEmpty {
			return append(dst, "null"...)
		}
		return append(dst, "{}"...)
	}
	var buf [32]string
	keys := buf[:0]
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	dst = append(dst, '{')
	for i, k := range keys {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendKey(dst, k)
		dst = appendString(dst, m[k])
	}
	return append(dst, '}')
}

// appendStringSlice appends ss as a JSON array of strings, null when nil.
func appendStringSlice(dst []byte, ss []string) []byte {
	if ss == nil {
		return append(dst, "null"...)
	}
	dst = append(dst, '[')
	for i, s := range ss {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendString(dst, s)
	}
	return append(dst, ']')
}

// appendFloat appends f as a JSON number (null for NaN and infinities,
// which JSON cannot represent).
func appendFloat(dst []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(dst, "null"...)
	}
	if a := math.Abs(f); a != 0 && (a < 1e-6 || a >= 1e21) {
		return strconv.AppendFloat(dst, f, 'e', -1, 64)
	}
	return strconv.AppendFloat(dst, f, 'f', -1, 64)
}

// appendAny appends an arbitrary value as authorizers produce them (the
// shapes encoding/json decodes into, plus the common typed maps and slices).
// Map keys are sorted. Unknown types go through encoding/json; values it
// cannot encode become null.
func appendAny(dst []byte, v any) []byte {
	switch v := v.(type) {
	case nil:
		return append(dst, "null"...)
	case string:
		return appendString(dst, v)
	case bool:
		return strconv.AppendBool(dst, v)
	case float64:
		return appendFloat(dst, v)
	case float32:
		return appendFloat(dst, float64(v))
	case int:
		return strconv.AppendInt(dst, int64(v), 10)
	case int64:
		return strconv.AppendInt(dst, v, 10)
	case int32:
		return strconv.AppendInt(dst, int64(v), 10)
	case uint64:
		return strconv.AppendUint(dst, v, 10)
	case json.Number:
		if _, err := strconv.ParseFloat(string(v), 64); err != nil || !json.Valid([]byte(v)) {
			return appendString(dst, string(v))
		}
		return append(dst, v...)
	case map[string]string:
		return appendStringMap(dst, v, false)
	case []string:
		return appendStringSlice(dst, v)
	case map[string]any:
		return appendAnyMap(dst, v)
	case []any:
		if v == nil {
			return append(dst, "null"...)
		}
		dst = append(dst, '[')
		for i, e := range v {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendAny(dst, e)
		}
		return append(dst, ']')
	default:
		b, err := json.Marshal(v)
		if err != nil {
			return append(dst, "null"...)
		}
		return append(dst, b...)
	}
}

// appendAnyMap appends m as a JSON object with sorted keys (null when nil).
func appendAnyMap(dst []byte, m map[string]any) []byte {
	if m == nil {
		return append(dst, "null"...)
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	dst = append(dst, '{')
	for i, k := range keys {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendKey(dst, k)
		dst = appendAny(dst, m[k])
	}
	return append(dst, '}')
}

// appendStringified appends v as a JSON string: strings as they are, any
// other value as its JSON text (true, 42, {"a":1}). Payload 1.0 delivers
// Lambda authorizer context values this way.
func appendStringified(dst []byte, v any) []byte {
	if s, ok := v.(string); ok {
		return appendString(dst, s)
	}
	var buf [64]byte
	return appendString(dst, appendAny(buf[:0], v))
}
