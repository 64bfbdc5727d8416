package httpproxy

import (
	"context"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestUpstreamTLS proxies to a real TLS upstream whose certificate (for
// example.com and 127.0.0.1) the system does not trust: it is verified
// against the given CA and server name, and refused otherwise.
func TestUpstreamTLS(t *testing.T) {
	up := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.ReadAll(r.Body)
		io.WriteString(w, "secure")
	}))
	t.Cleanup(up.Close)
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: up.Certificate().Raw})
	tr, err := NewTransport(TransportConfig{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tr.Close)
	tests := []struct {
		name string
		tls  *UpstreamTLS
		want int
	}{
		{"system roots refuse", nil, 503},
		{"given CA", &UpstreamTLS{CAPEM: ca}, 200},
		{"given CA and server name", &UpstreamTLS{CAPEM: ca, ServerName: "example.com"}, 200},
		{"server name the certificate lacks", &UpstreamTLS{CAPEM: ca, ServerName: "other.test"}, 503},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// One Transport for all: pools must not be shared across
			// verification settings.
			p, err := New(Config{URI: up.URL + "/", Transport: tr, TLS: tt.tls})
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			rec, _ := serveOnce(t, ctx, p)
			if rec.Code != tt.want {
				t.Errorf("status %d, want %d (%s)", rec.Code, tt.want, rec.Body)
			}
		})
	}
	if _, err := New(Config{URI: up.URL, TLS: &UpstreamTLS{CAPEM: []byte("not PEM")}}); err == nil || !strings.Contains(err.Error(), "no PEM certificate") {
		t.Errorf("bad CA: %v", err)
	}
}
