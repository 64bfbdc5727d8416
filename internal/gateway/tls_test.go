package gateway

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/certs"
	"github.com/portico-dev/portico/internal/testtool"
)

// TestTLSListener serves the gateway over TLSListener: a client that fails
// its handshake does not stop the listener; HTTP/1.1 connections go
// through the framing guard with Request.TLS set, HTTP/2 ones reach
// net/http's HTTP/2 server; Close ends Accept.
func TestTLSListener(t *testing.T) {
	ca, err := certs.LoadOrCreateCA(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tl := TLSListener(ln, certs.ServerConfig(nil, ca), time.Second)
	seen := make(chan string, 4)
	srv := NewHTTPServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, framed := r.Context().Value(framedConnKey{}).(*framedConn)
		state := "no TLS"
		if r.TLS != nil {
			state = r.TLS.ServerName
		}
		seen <- r.Proto + " " + state + " framed=" + map[bool]string{true: "yes", false: "no"}[framed]
	}), Timeouts{})
	done := make(chan error, 1)
	go func() { done <- srv.Serve(tl) }()

	// A client that speaks plain HTTP to the TLS port, then hangs up.
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	c.Close()

	roots := x509.NewCertPool()
	roots.AddCert(ca.Certificate())
	for _, tt := range []struct {
		h2   bool
		want string
	}{{false, "HTTP/1.1 api.localhost framed=yes"}, {true, "HTTP/2.0 api.localhost framed=no"}} {
		tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, ServerName: "api.localhost"}, ForceAttemptHTTP2: tt.h2}
		if !tt.h2 {
			tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
		}
		resp, err := (&http.Client{Transport: tr, Timeout: 5 * time.Second}).Get("https://" + ln.Addr().String() + "/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		tr.CloseIdleConnections()
		if got := <-seen; got != tt.want {
			t.Errorf("handler saw %q, want %q", got, tt.want)
		}
	}
	srv.Close()
	if err := testtool.Await(t, "Serve to return after Close", done); err != http.ErrServerClosed {
		t.Errorf("Serve = %v, want ErrServerClosed", err)
	}
}
