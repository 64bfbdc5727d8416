package httpproxy

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// TransportConfig tunes a Transport. The zero value is usable: every field
// has a documented default.
type TransportConfig struct {
	// MaxIdleConnsPerHost bounds the idle keep-alive connections kept per
	// upstream host:port. Default 128. There is no bound on busy
	// connections: each concurrent request uses its own.
	MaxIdleConnsPerHost int
	// IdleConnTimeout closes connections idle for longer than this.
	// Default 30s, below the idle timeouts of common servers so that the
	// gateway usually closes first.
	IdleConnTimeout time.Duration
	// DialTimeout bounds connecting to an upstream (TCP, and TLS for https).
	// Default 10s. The request's context (integration timeout) bounds it too.
	DialTimeout time.Duration
	// TLSClientConfig is used for https upstreams; nil means system roots.
	// ServerName defaults to the upstream's host name.
	TLSClientConfig *tls.Config
	// MaxResponseHeaderBytes bounds an upstream response's status line and
	// headers. Default 64 KiB. A longer head is a 502.
	MaxResponseHeaderBytes int
}

// Transport is a pool of keep-alive HTTP/1.1 connections to upstreams, keyed
// by scheme and host:port. Create one per application and pass it to every
// Proxy (Config.Transport) so that integrations, and their successors after a
// redeploy, share connections. A Transport holds no goroutines; it is safe
// for concurrent use.
type Transport struct {
	cfg    TransportConfig
	dialer net.Dialer

	mu     sync.Mutex
	pools  map[poolKey]*hostPool
	closed bool

	retries atomic.Uint64 // requests replayed on a fresh connection

	bufs sync.Pool // *[]byte of copyBufSize, for body copies
	up   sync.Pool // *[]byte of upBufSize, for streamed request bodies
	head sync.Pool // *[]byte, for request heads
}

type poolKey struct {
	https bool
	addr  string // host:port to dial
	host  string // TLS server name / Host
	tls   tlsKey // how https upstreams are verified
}

const (
	copyBufSize   = 32 << 10
	readBufSize   = 16 << 10
	writeBufSize  = 8 << 10
	maxIdleBounds = 1 << 16
)

// upBufSize bounds one read of a streamed request body: 128 KiB cut the CPU
// per 1 MiB upload by about a tenth against 32 KiB (fewer reads and writes)
// for 96 KiB more per upload in flight (docs/benchmarks.md).
const upBufSize = 128 << 10

// NewTransport validates cfg, applies defaults and returns a Transport.
func NewTransport(cfg TransportConfig) (*Transport, error) {
	var errs []error
	if cfg.MaxIdleConnsPerHost < 0 || cfg.MaxIdleConnsPerHost > maxIdleBounds {
		errs = append(errs, fmt.Errorf("MaxIdleConnsPerHost %d: must be between 0 (default) and %d", cfg.MaxIdleConnsPerHost, maxIdleBounds))
	}
	if cfg.IdleConnTimeout < 0 {
		errs = append(errs, fmt.Errorf("IdleConnTimeout %v: must not be negative", cfg.IdleConnTimeout))
	}
	if cfg.DialTimeout < 0 {
		errs = append(errs, fmt.Errorf("DialTimeout %v: must not be negative", cfg.DialTimeout))
	}
	if cfg.MaxResponseHeaderBytes < 0 {
		errs = append(errs, fmt.Errorf("MaxResponseHeaderBytes %d: must not be negative", cfg.MaxResponseHeaderBytes))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("httpproxy transport: %w", err)
	}
	if cfg.MaxIdleConnsPerHost == 0 {
		cfg.MaxIdleConnsPerHost = 128
	}
	if cfg.IdleConnTimeout == 0 {
		cfg.IdleConnTimeout = 30 * time.Second
	}
	if cfg.DialTimeout == 0 {
		cfg.DialTimeout = 10 * time.Second
	}
	if cfg.MaxResponseHeaderBytes == 0 {
		cfg.MaxResponseHeaderBytes = 64 << 10
	}
	t := &Transport{
		cfg:    cfg,
		dialer: net.Dialer{Timeout: cfg.DialTimeout, KeepAlive: 30 * time.Second},
		pools:  make(map[poolKey]*hostPool),
	}
	t.bufs.New = func() any { b := make([]byte, copyBufSize); return &b }
	t.up.New = func() any { b := make([]byte, upBufSize); return &b }
	t.head.New = func() any { b := make([]byte, 0, 1024); return &b }
	return t, nil
}

// Close closes every idle connection and makes later requests fail. Busy
// connections are closed when their requests end.
func (t *Transport) Close() {
	t.mu.Lock()
	pools := t.pools
	t.pools = map[poolKey]*hostPool{}
	t.closed = true
	t.mu.Unlock()
	for _, p := range pools {
		p.closeIdle(true)
	}
}

// acquire returns the pool for key with one more reference.
func (t *Transport) acquire(key poolKey, roots *x509.CertPool) (*hostPool, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return nil, errors.New("transport closed")
	}
	p := t.pools[key]
	if p == nil {
		p = &hostPool{t: t, key: key, roots: roots}
		t.pools[key] = p
	}
	p.refs++
	return p, nil
}

// release drops one reference; the last one closes the pool's idle
// connections and forgets it.
func (t *Transport) release(p *hostPool) {
	t.mu.Lock()
	p.refs--
	last := p.refs == 0
	if last && t.pools[p.key] == p {
		delete(t.pools, p.key)
	}
	t.mu.Unlock()
	if last {
		p.closeIdle(true)
	}
}

// hostPool holds the idle connections to one upstream.
type hostPool struct {
	t     *Transport
	key   poolKey
	roots *x509.CertPool // the CA of key.tls.ca, nil for the Transport's roots
	refs  int            // guarded by t.mu

	mu     sync.Mutex
	idle   []*conn // most recently used last
	closed bool
}

// conn is one upstream connection with its buffers.
type conn struct {
	nc     net.Conn
	br     *bufio.Reader
	bw     *bufio.Writer
	idleAt time.Time
	pool   *hostPool

	stop func() bool // undoes watch; nil when ctx cannot end
	// poisoned is set when the request's context ended and its I/O
	// deadline was moved to the past; such a conn is never reused.
	poisoned atomic.Bool
	// idle, when positive, is the longest wait for each network read
	// (Config.IdleTimeout, armed while a response body is copied).
	idle time.Duration
	raw  []byte   // the last response head, reused
	kvs  []kv     // its parsed header fields, reused
	resp response // the last response head
}

// get returns the most recently used idle connection that has not expired,
// or nil.
func (p *hostPool) get(now time.Time) *conn {
	p.mu.Lock()
	for n := len(p.idle); n > 0; n = len(p.idle) {
		c := p.idle[n-1]
		p.idle[n-1] = nil
		p.idle = p.idle[:n-1]
		if now.Sub(c.idleAt) < p.t.cfg.IdleConnTimeout {
			p.mu.Unlock()
			return c
		}
		p.mu.Unlock()
		c.nc.Close()
		p.mu.Lock()
	}
	p.mu.Unlock()
	return nil
}

// put returns a connection whose last response was fully read to the pool,
// or closes it when the pool is full or closed. Expired connections at the
// cold end of the stack are closed on the way.
func (p *hostPool) put(c *conn, now time.Time) {
	c.idleAt = now
	var stale []*conn
	p.mu.Lock()
	if p.closed || len(p.idle) >= p.t.cfg.MaxIdleConnsPerHost {
		p.mu.Unlock()
		c.nc.Close()
		return
	}
	n := 0
	for n < len(p.idle) && now.Sub(p.idle[n].idleAt) >= p.t.cfg.IdleConnTimeout {
		n++
	}
	if n > 0 {
		stale = append(stale, p.idle[:n]...)
		k := copy(p.idle, p.idle[n:])
		clear(p.idle[k:])
		p.idle = p.idle[:k]
	}
	p.idle = append(p.idle, c)
	p.mu.Unlock()
	for _, s := range stale {
		s.nc.Close()
	}
}

// closeIdle closes the idle connections; final also refuses later puts.
func (p *hostPool) closeIdle(final bool) {
	p.mu.Lock()
	idle := p.idle
	p.idle = nil
	if final {
		p.closed = true
	}
	p.mu.Unlock()
	for _, c := range idle {
		c.nc.Close()
	}
}

// dial opens a new connection to the pool's upstream.
func (p *hostPool) dial(ctx context.Context) (*conn, error) {
	nc, err := p.t.dialer.DialContext(ctx, "tcp", p.key.addr)
	if err != nil {
		return nil, err
	}
	if p.key.https {
		cfg := &tls.Config{}
		if p.t.cfg.TLSClientConfig != nil {
			cfg = p.t.cfg.TLSClientConfig.Clone()
		}
		if p.key.tls.serverName != "" {
			cfg.ServerName = p.key.tls.serverName
		}
		if cfg.ServerName == "" {
			host, _, _ := net.SplitHostPort(p.key.addr)
			cfg.ServerName = host
		}
		if p.roots != nil {
			cfg.RootCAs = p.roots
		}
		cfg.NextProtos = []string{"http/1.1"}
		tc := tls.Client(nc, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			nc.Close()
			return nil, fmt.Errorf("tls handshake: %w", err)
		}
		nc = tc
	}
	c := &conn{nc: nc, bw: bufio.NewWriterSize(nc, writeBufSize), pool: p}
	c.br = bufio.NewReaderSize(connReader{c}, readBufSize)
	return c, nil
}

// connReader is a conn's read side: it arms the idle timeout before every
// read from the network.
type connReader struct{ c *conn }

func (r connReader) Read(b []byte) (int, error) {
	c := r.c
	if c.idle > 0 {
		c.nc.SetReadDeadline(time.Now().Add(c.idle))
		// The context's end may have poisoned the deadline just before:
		// restore it. (poisoned is set before the deadline is moved, so
		// whichever came last, a past deadline wins.)
		if c.poisoned.Load() {
			c.nc.SetReadDeadline(aLongTimeAgo)
		}
	}
	return c.nc.Read(b)
}
