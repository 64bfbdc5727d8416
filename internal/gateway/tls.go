package gateway

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"sync"
	"time"
)

// TLSListener serves the gateway over TLS on ln, with cfg (its NextProtos
// decide whether HTTP/2 is offered). Serve NewHTTPServer on it, in place
// of FramingListener.
//
// Handshakes run off the accept loop, at most handshakeTimeout each; a
// failed one closes the connection. A connection that negotiated HTTP/2
// reaches net/http as its *tls.Conn, which HTTP/2 serves (its frames carry
// their own lengths: there is no Content-Length against Transfer-Encoding
// to smuggle with). Any other connection is HTTP/1.1 and goes through the
// framing guard as FramingListener's do, over the decrypted bytes; it
// reports its TLS state so that net/http still sets Request.TLS.
func TLSListener(ln net.Listener, cfg *tls.Config, handshakeTimeout time.Duration) net.Listener {
	if handshakeTimeout <= 0 {
		handshakeTimeout = 10 * time.Second
	}
	l := &tlsListener{Listener: ln, cfg: cfg, timeout: handshakeTimeout, conns: make(chan net.Conn), done: make(chan struct{})}
	go l.acceptLoop()
	return l
}

type tlsListener struct {
	net.Listener
	cfg     *tls.Config
	timeout time.Duration
	conns   chan net.Conn
	done    chan struct{}

	once sync.Once
	err  error // why the accept loop ended; read after done is closed
}

func (l *tlsListener) acceptLoop() {
	var tempDelay time.Duration
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				// Out of file descriptors and the like: back off as
				// net/http does, and keep serving.
				tempDelay = min(max(2*tempDelay, 5*time.Millisecond), time.Second)
				select {
				case <-time.After(tempDelay):
					continue
				case <-l.done:
				}
			}
			l.err = err
			l.close()
			return
		}
		tempDelay = 0
		go l.handshake(c)
	}
}

func (l *tlsListener) handshake(raw net.Conn) {
	tc := tls.Server(raw, l.cfg)
	ctx, cancel := context.WithTimeout(context.Background(), l.timeout)
	err := tc.HandshakeContext(ctx)
	cancel()
	if err != nil {
		_ = tc.Close()
		return
	}
	var c net.Conn = tc
	if tc.ConnectionState().NegotiatedProtocol != "h2" {
		c = &tlsFramedConn{framedConn: &framedConn{Conn: tc}, tc: tc}
	}
	select {
	case l.conns <- c:
	case <-l.done:
		_ = c.Close()
	}
}

func (l *tlsListener) close() { l.once.Do(func() { close(l.done) }) }

func (l *tlsListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		if l.err != nil {
			return nil, l.err
		}
		return nil, net.ErrClosed
	}
}

func (l *tlsListener) Close() error {
	err := l.Listener.Close()
	l.close()
	return err
}

// tlsFramedConn is an HTTP/1.1 connection over TLS behind the framing
// guard. net/http sets Request.TLS from its ConnectionState.
type tlsFramedConn struct {
	*framedConn
	tc *tls.Conn
}

func (c *tlsFramedConn) ConnectionState() tls.ConnectionState { return c.tc.ConnectionState() }
