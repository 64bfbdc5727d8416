package httpproxy

import (
	"net"
	"runtime"
	"testing"
	"time"
)

// TestAlive: an idle connection is usable while nothing waits on it; the
// peer's close or stray bytes make it unusable, and the check consumes
// nothing.
func TestAlive(t *testing.T) {
	tests := []struct {
		name string
		peer func(net.Conn) // what the upstream does to its end
		want bool
	}{
		{name: "idle", peer: func(net.Conn) {}, want: true},
		{name: "closed by the upstream", peer: func(c net.Conn) { c.Close() }, want: false},
		{name: "stray bytes", peer: func(c net.Conn) { c.Write([]byte("HTTP/1.1 408 Request Timeout\r\n\r\n")) }, want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			c, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			s, err := ln.Accept()
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			tt.peer(s)
			if !tt.want {
				// Wait for the FIN or the bytes to arrive.
				for end := time.Now().Add(10 * time.Second); alive(c); runtime.Gosched() {
					if time.Now().After(end) {
						t.Fatal("alive = true, want false")
					}
				}
			}
			// Ask again: the check consumed nothing.
			if got := alive(c); got != tt.want {
				t.Fatalf("alive = %v, want %v", got, tt.want)
			}
		})
	}
}
