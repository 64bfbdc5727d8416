package integration

import (
	"net/http"
	"testing"
)

func TestProtocol(t *testing.T) {
	for _, tt := range []struct {
		name string
		r    *http.Request
		want string
	}{
		{"HTTP/2 (TLS or h2c) is reported as HTTP/1.1, as API Gateway does", &http.Request{Proto: "HTTP/2.0", ProtoMajor: 2}, "HTTP/1.1"},
		{"HTTP/1.1", &http.Request{Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1}, "HTTP/1.1"},
		{"HTTP/1.0 is answered as HTTP/1.1", &http.Request{Proto: "HTTP/1.0", ProtoMajor: 1}, "HTTP/1.1"},
		{"no request", nil, "HTTP/1.1"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := Protocol(tt.r); got != tt.want {
				t.Errorf("Protocol = %q, want %q", got, tt.want)
			}
		})
	}
}
