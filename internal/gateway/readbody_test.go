package gateway

import (
	"bytes"
	"net/http/httptest"
	"testing"
)

// TestReadBodyExactLength: a body whose length is declared is read into a
// buffer of that length, not grown past it to read EOF (a 1 MiB POST costs
// 1 MiB, not 1 MiB and a 1.25 MiB copy); an undeclared length still grows.
func TestReadBodyExactLength(t *testing.T) {
	for _, tt := range []struct {
		name     string
		length   int64 // ContentLength; -1 for unknown
		size     int
		wantCap  int
		growable bool
	}{
		{"1 MiB declared", 1 << 20, 1 << 20, 1 << 20, false},
		{"16 KiB declared", 16 << 10, 16 << 10, 16 << 10, false},
		{"unknown length", -1, 100 << 10, 0, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			body := bytes.Repeat([]byte("x"), tt.size)
			r := httptest.NewRequest("POST", "/", bytes.NewReader(body))
			r.ContentLength = tt.length
			buf, err := readBody(httptest.NewRecorder(), r, nil, Timeouts{}.withDefaults())
			if err != nil || !bytes.Equal(buf, body) {
				t.Fatalf("read %d bytes, err %v", len(buf), err)
			}
			if !tt.growable && cap(buf) != tt.wantCap {
				t.Errorf("cap %d, want %d", cap(buf), tt.wantCap)
			}
		})
	}
}
