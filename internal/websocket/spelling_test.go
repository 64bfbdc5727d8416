package websocket

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestConnectHeaderSpelling: with Deps.HeaderNames (the gateway's record of
// the raw head) the $connect event names headers as the client spelt them,
// as AWS does, and API Gateway's own X-Forwarded-* keep AWS's spelling.
// Without it the names are canonical.
func TestConnectHeaderSpelling(t *testing.T) {
	tests := []struct {
		name  string
		names func(*http.Request) []string
		want  []string // names the event must have
	}{
		{name: "client's spelling", names: func(*http.Request) []string {
			return []string{"host", "x-custom-Header", "Sec-WebSocket-Key", "sec-websocket-version", "x-forwarded-for"}
		}, want: []string{"host", "x-custom-Header", "Sec-WebSocket-Key", "sec-websocket-version", "X-Forwarded-For", "X-Forwarded-Port"}},
		{name: "unknown: canonical", names: func(*http.Request) []string { return nil },
			want: []string{"Host", "X-Custom-Header", "Sec-Websocket-Key", "Sec-Websocket-Version", "X-Forwarded-For"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inv := &fakeInvoker{events: make(chan *Event, 4)}
			h, err := New(Config{APIID: "abc123", RouteSelection: []string{"action"}, Stages: map[string]*Stage{
				"dev": {Name: "dev", Routes: map[string]*Route{"$connect": {Key: "$connect", Function: "f", Timeout: 5 * time.Second}}}}},
				Deps{Invoker: inv, Registry: &Registry{}, HeaderNames: tt.names})
			if err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewServer(h)
			defer srv.Close()
			req, _ := http.NewRequest("GET", srv.URL+"/dev", nil)
			req.Header.Set("X-Custom-Header", "v")
			req.Header.Set("X-Forwarded-For", "203.0.113.9")
			req.Header.Set("Upgrade", "websocket")
			req.Header.Set("Connection", "Upgrade")
			req.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
			req.Header.Set("Sec-WebSocket-Version", "13")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			ev := <-inv.events
			for _, n := range tt.want {
				if _, ok := ev.Headers[n]; !ok {
					t.Errorf("headers lack %q: %v", n, keys(ev.Headers))
				}
				if _, ok := ev.MultiValueHeaders[n]; !ok {
					t.Errorf("multiValueHeaders lack %q", n)
				}
			}
			if v := ev.Headers[tt.want[1]]; v != "v" {
				t.Errorf("%s: %q, want v", tt.want[1], v)
			}
			if v := ev.Headers["X-Forwarded-For"]; v != "127.0.0.1" {
				t.Errorf("X-Forwarded-For %q, want the source address", v)
			}
		})
	}
}

func keys(m map[string]string) string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return strings.Join(ks, ", ")
}
