// Package httptoken validates RFC 9110 tokens: HTTP methods, header field
// names and the list elements of headers such as Access-Control-Allow-Headers.
//
// token = 1*tchar; tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" /
// "-" / "." / "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA (RFC 9110 §5.6.2).
// It accepts exactly what net/http's header-name check accepts
// (golang.org/x/net/http/httpguts.ValidHeaderFieldName); the tests check it
// against every byte.
package httptoken

// The tchar set as a 128-bit mask: bit c of lo (c < 64) or hi (c >= 64).
// Constants, so the check needs no table in memory and no package state.
const (
	lo = 0x03ff6cfa00000000 // ! # $ % & ' * + - . 0-9
	hi = 0x57ffffffc7fffffe // A-Z ^ _ ` a-z | ~
)

// IsTokenByte reports whether c is a tchar.
func IsTokenByte(c byte) bool {
	if c < 64 {
		return lo&(1<<c) != 0
	}
	if c < 128 {
		return hi&(1<<(c-64)) != 0
	}
	return false
}

// Valid reports whether s is a token: non-empty and every byte a tchar.
func Valid[T string | []byte](s T) bool {
	if len(s) == 0 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !IsTokenByte(s[i]) {
			return false
		}
	}
	return true
}
