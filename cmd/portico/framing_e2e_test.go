package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestGatewayFraming attacks the real binary's gateway as a smuggler and a
// slow client would, with an HTTP_PROXY route to a real upstream: a request
// with both Content-Length and Transfer-Encoding gets 400 and the
// connection closes with nothing after it forwarded; a body too slow gets
// 408 (--body-timeout set short).
func TestGatewayFraming(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Method+" "+r.URL.Path)
		mu.Unlock()
		io.WriteString(w, "upstream")
	}))
	defer upstream.Close()
	specFile := proxySpec(t, upstream.URL)
	in := up(t, specFile, "--body-timeout", "300ms", "--body-min-rate", "-1")
	addr := strings.TrimPrefix(in.gateway, "http://")

	tests := []struct {
		name, request string
		want          []int
	}{
		{"content-length and transfer-encoding", "GET /first HTTP/1.1\r\nHost: x\r\n\r\n" +
			"POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 42\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n",
			[]int{200, 400}},
		{"body too slow", "POST /slow HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc", []int{408}},
		{"path traversal", "GET /a/%2e%2e/admin HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", []int{400}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := net.DialTimeout("tcp", addr, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(10 * time.Second))
			if _, err := io.WriteString(c, tt.request); err != nil {
				t.Fatal(err)
			}
			br := bufio.NewReader(c)
			var got []int
			for {
				resp, err := http.ReadResponse(br, nil)
				if err != nil {
					if ne, ok := err.(net.Error); ok && ne.Timeout() {
						t.Fatalf("after %v: the gateway kept the connection open", got)
					}
					break // closed by the gateway
				}
				io.Copy(io.Discard, resp.Body)
				got = append(got, resp.StatusCode)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("statuses %v, want %v", got, tt.want)
			}
		})
	}
	mu.Lock()
	defer mu.Unlock()
	if fmt.Sprint(seen) != "[GET /first]" {
		t.Errorf("upstream received %v, want only GET /first", seen)
	}
}
