package httptoken

import (
	"bufio"
	"net/http"
	"strings"
	"testing"
)

// tchars is RFC 9110's tchar set spelled out, the reference the mask is
// checked against.
const tchars = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"

func TestIsTokenByteEveryByte(t *testing.T) {
	for c := 0; c < 256; c++ {
		want := strings.IndexByte(tchars, byte(c)) >= 0
		if got := IsTokenByte(byte(c)); got != want {
			t.Errorf("IsTokenByte(%#02x) = %v, want %v", c, got, want)
		}
	}
}

func TestValid(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want bool
	}{
		{"method", "GET", true},
		{"header name", "X-Amz-Date", true},
		{"all specials", "!#$%&'*+-.^_`|~", true},
		{"empty", "", false},
		{"space", "X Y", false},
		{"colon", "Host:", false},
		{"separator", "a(b)", false},
		{"quote", `a"b`, false},
		{"slash", "a/b", false},
		{"DEL", "a\x7f", false},
		{"non-ASCII", "caf\xc3\xa9", false},
		{"NUL", "a\x00", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Valid(tt.in); got != tt.want {
				t.Errorf("Valid(%q) = %v, want %v", tt.in, got, tt.want)
			}
			if got := Valid([]byte(tt.in)); got != tt.want {
				t.Errorf("Valid([]byte(%q)) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

// FuzzValid checks Valid against the spelled-out set and against net/http:
// a header name Valid accepts, net/http accepts too. (net/http is laxer the
// other way: it takes "a b" as a name, and "a:b" splits at the colon.)
func FuzzValid(f *testing.F) {
	for _, s := range []string{"GET", "X-Y", "a b", "a:b", "\x80", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want := s != ""
		for i := 0; i < len(s); i++ {
			if strings.IndexByte(tchars, s[i]) < 0 {
				want = false
			}
		}
		if got := Valid(s); got != want {
			t.Fatalf("Valid(%q) = %v, want %v", s, got, want)
		}
		if !want {
			return
		}
		raw := "GET / HTTP/1.1\r\nHost: h\r\n" + s + ": v\r\n\r\n"
		_, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw)))
		if err != nil {
			t.Fatalf("net/http refuses header name %q that Valid accepts: %v", s, err)
		}
	})
}
