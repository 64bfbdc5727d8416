// Package httpproxy implements the HTTP_PROXY integration: it forwards a
// route's request to an HTTP(S) upstream and streams the upstream's response
// back unchanged, as API Gateway HTTP APIs do.
//
// A request body reaches the upstream whole, or, past the first bytes the
// gateway read ahead, streamed as the client sends it (StreamsBody,
// integration.Request.BodyRest).
//
// The upstream side is a small HTTP/1.1 client of its own (see Transport):
// pooled keep-alive connections with pooled buffers, the request head
// written in one piece, the response head parsed without net/http's
// Transport. The client side stays on net/http's ResponseWriter.
//
// What the backend receives and which gateway errors clients see are
// documented in docs/http-proxy.md; failover between several upstreams and
// the idle timeout in docs/queues-and-failover.md.
package httpproxy

import (
	"cmp"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/portico-dev/portico/internal/edge"
	"github.com/portico-dev/portico/internal/httptoken"
	"github.com/portico-dev/portico/internal/integration"
	"github.com/portico-dev/portico/internal/xrayid"
)

// Config is one HTTP_PROXY integration.
type Config struct {
	// URI is the integration URI template, for example
	// "http://127.0.0.1:11434/{proxy}". Path variables {name} (path only)
	// are replaced with the route's path parameters, percent-encoded segment
	// by segment; ${stageVariables.name} (host, path or query) with stage
	// variables. For the $default route of a URI without path variables the
	// client's path is appended. The client's query string is always
	// forwarded as-is. Exactly one of URI and Upstreams is set.
	URI string
	// Upstreams replaces URI with several upstreams, each URI a template
	// as above. A request tries them in Priority order (lowest first;
	// among equal priorities, weighted random by Weight), moving on to the
	// next after a connection failure, a malformed response, a 5xx or a
	// 429, while ctx's deadline allows and before anything was written to
	// the client; the last one tried answers. An upstream that failed is
	// tried after all others for Cooldown. See docs/queues-and-failover.md.
	Upstreams []Upstream
	// Cooldown is how long an upstream that failed is passed over while
	// others are available. Default 5s; only used with Upstreams.
	Cooldown time.Duration
	// IdleTimeout ends a response when no byte of its body arrived from the
	// upstream for this long: the upstream connection is closed and the
	// client's response cut short, as for any failure mid-response. Zero
	// means no idle timeout; the wait for the response head is bounded by
	// ctx (the integration timeout) alone.
	IdleTimeout time.Duration
	// Method is the upstream method; "" or "ANY" (the default) keeps the
	// client's method.
	Method string
	// Transport is the connection pool to use, shared by every Proxy of an
	// application. Nil means a private Transport with default settings,
	// closed by Close.
	Transport *Transport
	// XForwarded adds X-Forwarded-For (the client IP appended to any value
	// the client sent), X-Forwarded-Proto and X-Forwarded-Port. API Gateway
	// HTTP APIs do not send them (only Forwarded and Via); default off.
	XForwarded bool
	// Now is the clock for upstream cooldowns; nil means time.Now.
	Now func() time.Time
	// TLS tunes the verification of https upstreams; nil means the
	// Transport's (system roots, the URI's host).
	TLS *UpstreamTLS
}

// Upstream is one of several upstreams of a Proxy.
type Upstream struct {
	// URI is the upstream's URI template, as Config.URI.
	URI string
	// Priority orders upstreams: lower is tried first.
	Priority int
	// Weight shares requests among upstreams of equal priority; 0 means 1,
	// at most 1048576.
	Weight int
}

// DefaultCooldown is Config.Cooldown's default.
const DefaultCooldown = 5 * time.Second

// maxWeight bounds Upstream.Weight.
const maxWeight = 1 << 20

// Proxy is an HTTP_PROXY integration. It is safe for concurrent use.
type Proxy struct {
	targets    []*target // sorted by priority, stable
	groups     []group   // runs of targets with equal priority
	method     string    // "" keeps the client's
	t          *Transport
	ownsT      bool
	xForwarded bool
	idle       time.Duration
	cooldown   time.Duration
	now        func() time.Time
	tlsKey     tlsKey
	roots      *x509.CertPool

	mu     sync.Mutex
	closed bool
}

// target is one upstream.
type target struct {
	tmpl   *uriTemplate
	pool   *hostPool             // when the host is static
	dyn    map[poolKey]*hostPool // hosts built from stage variables; guarded by Proxy.mu
	weight int
	prio   int
	// downUntil is when the upstream's cooldown ends (unix nanoseconds).
	downUntil atomic.Int64
}

// group is targets[lo:hi], which share one priority.
type group struct{ lo, hi int }

var _ integration.Integration = (*Proxy)(nil)

// New validates cfg and compiles its URI templates.
func New(cfg Config) (*Proxy, error) {
	method := strings.ToUpper(cfg.Method)
	if method == "ANY" {
		method = ""
	}
	var errs []error
	if method != "" && !httptoken.Valid(method) {
		errs = append(errs, fmt.Errorf("method %q is not a valid HTTP method", cfg.Method))
	}
	ups := cfg.Upstreams
	switch {
	case cfg.URI != "" && len(ups) > 0:
		errs = append(errs, errors.New("uri and upstreams are exclusive: set one"))
	case cfg.URI == "" && len(ups) == 0:
		errs = append(errs, errors.New("uri or upstreams is required"))
	case cfg.URI != "":
		ups = []Upstream{{URI: cfg.URI, Weight: 1}}
	}
	if cfg.IdleTimeout < 0 {
		errs = append(errs, fmt.Errorf("idle timeout %v: must not be negative", cfg.IdleTimeout))
	}
	if cfg.Cooldown < 0 {
		errs = append(errs, fmt.Errorf("cooldown %v: must not be negative", cfg.Cooldown))
	}
	targets := make([]*target, 0, len(ups))
	for i, u := range ups {
		tmpl, err := parseTemplate(u.URI)
		if err != nil {
			if cfg.URI != "" {
				errs = append(errs, fmt.Errorf("uri %q: %w", u.URI, err))
			} else {
				errs = append(errs, fmt.Errorf("upstreams[%d]: uri %q: %w", i, u.URI, err))
			}
			continue
		}
		if u.Weight < 0 || u.Weight > maxWeight {
			errs = append(errs, fmt.Errorf("upstreams[%d]: weight %d: must be between 0 (default 1) and %d", i, u.Weight, maxWeight))
			continue
		}
		targets = append(targets, &target{tmpl: tmpl, weight: max(u.Weight, 1), prio: u.Priority})
	}
	tk, roots, err := cfg.TLS.compile()
	if err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("httpproxy: %w", err)
	}
	slices.SortStableFunc(targets, func(a, b *target) int { return cmp.Compare(a.prio, b.prio) })
	p := &Proxy{
		targets: targets, method: method, t: cfg.Transport, xForwarded: cfg.XForwarded,
		idle: cfg.IdleTimeout, cooldown: cfg.Cooldown, now: cfg.Now, tlsKey: tk, roots: roots,
	}
	if p.cooldown == 0 {
		p.cooldown = DefaultCooldown
	}
	if p.now == nil {
		p.now = time.Now
	}
	for i := 0; i < len(targets); {
		j := i + 1
		for j < len(targets) && targets[j].prio == targets[i].prio {
			j++
		}
		p.groups = append(p.groups, group{i, j})
		i = j
	}
	if p.t == nil {
		if p.t, err = NewTransport(TransportConfig{}); err != nil {
			return nil, err
		}
		p.ownsT = true
	}
	for _, tg := range targets {
		if tg.tmpl.hostParts != nil {
			continue
		}
		if tg.pool, err = p.t.acquire(poolKey{https: tg.tmpl.https, addr: tg.tmpl.addr, host: tg.tmpl.host, tls: p.tlsKey}, p.roots); err != nil {
			p.Close()
			return nil, fmt.Errorf("httpproxy: %w", err)
		}
	}
	return p, nil
}

// Close releases the Proxy's share of its upstream connection pools: idle
// connections no other Proxy uses are closed. In-flight requests finish;
// the Proxy keeps working afterwards, without keeping connections idle.
func (p *Proxy) Close() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	var pools []*hostPool
	for _, tg := range p.targets {
		if tg.pool != nil {
			pools = append(pools, tg.pool)
		}
		for _, hp := range tg.dyn {
			pools = append(pools, hp)
		}
		tg.dyn = nil
	}
	p.mu.Unlock()
	for _, hp := range pools {
		p.t.release(hp)
	}
	if p.ownsT {
		p.t.Close()
	}
}

// hostFor returns the pool and Host header of tg for one request.
func (p *Proxy) hostFor(tg *target, stageVars map[string]string) (*hostPool, string, error) {
	if tg.pool != nil {
		return tg.pool, tg.tmpl.host, nil
	}
	host, addr, err := tg.tmpl.resolveHost(stageVars)
	if err != nil {
		return nil, "", err
	}
	key := poolKey{https: tg.tmpl.https, addr: addr, host: host, tls: p.tlsKey}
	p.mu.Lock()
	defer p.mu.Unlock()
	if hp := tg.dyn[key]; hp != nil {
		return hp, host, nil
	}
	hp, err := p.t.acquire(key, p.roots)
	if err != nil {
		return nil, "", err
	}
	if p.closed {
		// Keep serving after Close, but hold no reference.
		p.t.release(hp)
		return hp, host, nil
	}
	if tg.dyn == nil {
		tg.dyn = make(map[poolKey]*hostPool)
	}
	tg.dyn[key] = hp
	return hp, host, nil
}

// Serve forwards r to the upstream and streams the response to w.
//
// Before anything is written it returns an *edge.Error: 503 Service
// Unavailable when the upstream cannot be reached (connection refused, DNS,
// TLS, reset or closed before a response) or ctx expires; 502 Bad Gateway
// when the upstream's response head is malformed; 500 when the URI built
// from stage variables is invalid. A client that goes away (ctx cancelled)
// gets the context's error. Once the response has started, a failure (or
// the idle timeout) cuts it short (the client connection is aborted so the
// client can tell) and the error is returned for logging.
//
// With several upstreams, each failure before the response started moves
// on to the next upstream while ctx allows; the last one's response or
// error is the result.
func (p *Proxy) Serve(ctx context.Context, w http.ResponseWriter, r *integration.Request) error {
	if err := checkTraversal(r); err != nil {
		return err
	}
	method := p.method
	if method == "" {
		method = r.HTTP.Method
	}
	b := &body{buf: r.Body, rest: r.BodyRest, length: r.BodyLength}
	if b.rest != nil {
		cb := p.t.up.Get().(*[]byte)
		defer p.t.up.Put(cb)
		b.copyBuf = *cb
	}
	if len(p.targets) == 1 {
		c, resp, err := p.attempt(ctx, p.targets[0], method, r, b)
		if err != nil {
			return err
		}
		return p.respond(ctx, w, c, resp, method)
	}
	var buf [8]*target
	order := p.order(buf[:0])
	for i, tg := range order {
		// A streamed body that has started cannot be sent again: the
		// upstream that received it answers.
		last := i == len(order)-1 || b.started
		c, resp, err := p.attempt(ctx, tg, method, r, b)
		if err != nil {
			if ctx.Err() != nil || b.clientErr != nil {
				return err // the deadline or the client ended the request
			}
			p.markDown(tg)
			if last || b.started {
				return err
			}
			continue
		}
		if resp.status >= 500 || resp.status == http.StatusTooManyRequests {
			p.markDown(tg)
			if !last && !b.started && ctx.Err() == nil {
				c.release(false) // the body is not read: do not reuse
				continue
			}
		}
		return p.respond(ctx, w, c, resp, method)
	}
	panic("unreachable")
}

// StreamsBody reports that the proxy takes streamed bodies
// (integration.BodyStreamer): their rest goes to the upstream as the
// client sends it.
func (p *Proxy) StreamsBody() bool { return true }

// body is a request's body on its way to upstreams: whole in buf, or buf
// and then rest (streamed), sent with Content-Length when length is known
// and chunked otherwise.
type body struct {
	buf     []byte
	rest    io.Reader // nil when buf is the whole body
	length  int64     // declared length of a streamed body, -1 unknown
	copyBuf []byte
	// started reports that rest was read from: the body cannot be sent
	// again (no retry, no failover).
	started bool
	// clientErr is rest's error (the client's side), to be returned as is.
	clientErr error
}

// chunked reports whether the body goes to the upstream chunked.
func (b *body) chunked() bool { return b.rest != nil && b.length < 0 }

// attempt sends r to one upstream and reads the response head.
func (p *Proxy) attempt(ctx context.Context, tg *target, method string, r *integration.Request, b *body) (*conn, *response, error) {
	pool, host, err := p.hostFor(tg, r.StageVariables)
	if err != nil {
		return nil, nil, edge.New(edge.InternalError, fmt.Errorf("httpproxy: upstream host: %w", err))
	}
	hb := p.t.head.Get().(*[]byte)
	head := p.appendHead((*hb)[:0], tg.tmpl, method, host, r, b)
	c, resp, err := p.roundTrip(ctx, pool, head, b)
	if cap(head) <= 64<<10 {
		*hb = head[:0]
		p.t.head.Put(hb)
	}
	return c, resp, err
}

// order appends the upstreams in the order one request tries them: those
// not cooling down first, then those cooling down (so that a request never
// fails for cooldowns alone); within each, by priority, and within a
// priority by a weighted random draw without replacement.
func (p *Proxy) order(dst []*target) []*target {
	now := p.now().UnixNano()
	for _, cooling := range [2]bool{false, true} {
		for _, g := range p.groups {
			start, total := len(dst), 0
			for _, tg := range p.targets[g.lo:g.hi] {
				if (tg.downUntil.Load() > now) == cooling {
					dst = append(dst, tg)
					total += tg.weight
				}
			}
			for k := start; k < len(dst)-1; k++ {
				x := rand.IntN(total)
				j := k
				for ; x >= dst[j].weight; j++ {
					x -= dst[j].weight
				}
				dst[k], dst[j] = dst[j], dst[k]
				total -= dst[k].weight
			}
		}
	}
	return dst
}

// markDown starts tg's cooldown.
func (p *Proxy) markDown(tg *target) {
	tg.downUntil.Store(p.now().Add(p.cooldown).UnixNano())
}

// aLongTimeAgo is a deadline that makes blocked I/O return at once.
var aLongTimeAgo = time.Unix(1, 0)

// roundTrip sends the request and reads the response head, retrying once on
// a fresh connection when a reused idle connection failed before any byte
// of the response arrived (the upstream closed it while it sat idle) and
// the body can be sent again. A failure to read a streamed body from the
// client ends the upstream request (its connection is closed) and is
// returned as it is.
func (p *Proxy) roundTrip(ctx context.Context, pool *hostPool, head []byte, body *body) (*conn, *response, error) {
	c := pool.get(time.Now())
	for body.rest != nil && c != nil && !alive(c.nc) {
		// A streamed body cannot be replayed: do not start it on a
		// connection the upstream has closed.
		c.nc.Close()
		c = pool.get(time.Now())
	}
	reused := c != nil
	for {
		if c == nil {
			var err error
			if c, err = pool.dial(ctx); err != nil {
				return nil, nil, p.failure(ctx, pool, "connect", err)
			}
		}
		c.watch(ctx)
		werr := c.send(head, body)
		if body.clientErr != nil {
			c.release(false)
			return nil, nil, body.clientErr
		}
		resp, gotByte, err := c.readHead(p.t.cfg.MaxResponseHeaderBytes)
		if err == nil {
			resp.broken = werr != nil
			return c, resp, nil
		}
		c.release(false)
		if werr != nil && !gotByte {
			err = werr
		}
		if ctx.Err() != nil {
			return nil, nil, p.failure(ctx, pool, "request", err)
		}
		if reused && !gotByte && !body.started {
			p.t.retries.Add(1)
			c, reused = nil, false
			continue
		}
		if gotByte {
			var perr *protocolError
			if errors.As(err, &perr) {
				return nil, nil, edge.New(edge.BadGateway, fmt.Errorf("httpproxy %s: %w", pool.key.addr, err))
			}
		}
		return nil, nil, p.failure(ctx, pool, "request", err)
	}
}

// failure maps an error before the response started to an edge error.
func (p *Proxy) failure(ctx context.Context, pool *hostPool, what string, err error) error {
	switch cerr := ctx.Err(); {
	case errors.Is(cerr, context.DeadlineExceeded):
		return edge.New(edge.ServiceUnavailable, fmt.Errorf("httpproxy %s: %s: integration timeout: %w", pool.key.addr, what, err))
	case cerr != nil:
		return fmt.Errorf("httpproxy %s: %s: client went away: %w", pool.key.addr, what, cerr)
	}
	return edge.New(edge.ServiceUnavailable, fmt.Errorf("httpproxy %s: %s: %w", pool.key.addr, what, err))
}

// watch arranges for ctx's end to unblock the connection's I/O.
func (c *conn) watch(ctx context.Context) {
	if ctx.Done() == nil {
		c.stop = nil
		return
	}
	c.stop = context.AfterFunc(ctx, func() {
		c.poisoned.Store(true)
		c.nc.SetDeadline(aLongTimeAgo)
	})
}

// release ends the request's use of c: back to the pool when reusable and
// not interrupted by its context, else closed.
func (c *conn) release(reusable bool) {
	if c.stop != nil && !c.stop() {
		reusable = false // the deadline was poisoned
	}
	c.stop = nil
	if reusable && c.idle > 0 {
		c.idle = 0
		reusable = c.nc.SetReadDeadline(time.Time{}) == nil
	}
	if reusable {
		c.pool.put(c, time.Now())
	} else {
		c.nc.Close()
	}
}

// send writes the request head and body. The rest of a streamed body is
// copied as the client sends it, each read flushed to the upstream; a
// failure to read it is left in b.clientErr (the upstream's body is then
// incomplete: the caller closes the connection).
func (c *conn) send(head []byte, b *body) error {
	if _, err := c.bw.Write(head); err != nil {
		return err
	}
	if b.rest == nil {
		if _, err := c.bw.Write(b.buf); err != nil {
			return err
		}
		return c.bw.Flush()
	}
	if err := c.writeChunk(b.buf, b.chunked()); err != nil {
		return err
	}
	if err := c.bw.Flush(); err != nil {
		return err
	}
	b.started = true
	for {
		n, rerr := b.rest.Read(b.copyBuf)
		if n > 0 {
			if err := c.writeChunk(b.copyBuf[:n], b.chunked()); err != nil {
				return err
			}
			if err := c.bw.Flush(); err != nil {
				return err
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			b.clientErr = rerr
			return rerr
		}
	}
	if b.chunked() {
		if _, err := c.bw.WriteString("0\r\n\r\n"); err != nil {
			return err
		}
		return c.bw.Flush()
	}
	return nil
}

// writeChunk writes p, as one chunk when chunked.
func (c *conn) writeChunk(p []byte, chunked bool) error {
	if len(p) == 0 {
		return nil
	}
	if chunked {
		var sz [16]byte
		c.bw.Write(strconv.AppendInt(sz[:0], int64(len(p)), 16))
		c.bw.WriteString("\r\n")
	}
	if _, err := c.bw.Write(p); err != nil {
		return err
	}
	if chunked {
		_, err := c.bw.WriteString("\r\n")
		return err
	}
	return nil
}

// appendHead appends the upstream request line and headers.
func (p *Proxy) appendHead(b []byte, tmpl *uriTemplate, method, host string, r *integration.Request, body *body) []byte {
	hr := r.HTTP
	b = append(b, method...)
	b = append(b, ' ')
	clientPath := r.RawPath
	if clientPath == "" {
		clientPath = hr.URL.EscapedPath()
	}
	appendPath := r.RouteKey == "$default" && !tmpl.hasPathVars
	b = tmpl.appendTarget(b, r.PathParameters, r.StageVariables, appendPath, clientPath, hr.URL.RawQuery)
	b = append(b, " HTTP/1.1\r\nHost: "...)
	b = append(b, host...)
	b = append(b, "\r\n"...)

	connTokens := hr.Header["Connection"]
	for k, vs := range hr.Header {
		if p.skipRequestHeader(k) || (connTokens != nil && listed(connTokens, k)) {
			continue
		}
		for _, v := range vs {
			b = append(b, k...)
			b = append(b, ": "...)
			b = append(b, v...)
			b = append(b, "\r\n"...)
		}
	}
	switch {
	case body.chunked():
		b = append(b, "Transfer-Encoding: chunked\r\n"...)
	case body.rest != nil:
		b = append(b, "Content-Length: "...)
		b = strconv.AppendInt(b, body.length, 10)
		b = append(b, "\r\n"...)
	case len(body.buf) > 0 || method == "POST" || method == "PUT" || method == "PATCH":
		b = append(b, "Content-Length: "...)
		b = strconv.AppendInt(b, int64(len(body.buf)), 10)
		b = append(b, "\r\n"...)
	}

	proto := "http"
	if hr.TLS != nil {
		proto = "https"
	}
	b = append(b, "Forwarded: "...)
	local, _ := hr.Context().Value(http.LocalAddrContextKey).(net.Addr)
	var localAP netip.AddrPort
	if ta, ok := local.(*net.TCPAddr); ok {
		localAP = ta.AddrPort()
		b = append(b, "by="...)
		b = appendForwardedIP(b, localAP.Addr())
		b = append(b, ';')
	}
	b = append(b, "for="...)
	if ip, err := netip.ParseAddr(r.SourceIP); err == nil {
		b = appendForwardedIP(b, ip)
	} else {
		b = append(b, "unknown"...)
	}
	domain := r.DomainName
	if domain == "" {
		domain = hr.Host
	}
	if domain != "" && validHostHeader(domain) {
		b = append(b, ";host="...)
		b = append(b, domain...)
	}
	b = append(b, ";proto="...)
	b = append(b, proto...)
	b = append(b, "\r\nVia: HTTP/1.1 AmazonAPIGateway\r\n"...)

	if _, ok := hr.Header["X-Amzn-Trace-Id"]; !ok {
		b = appendTraceID(b, r.Time)
	}
	if p.xForwarded {
		b = append(b, "X-Forwarded-For: "...)
		if prior := hr.Header["X-Forwarded-For"]; len(prior) > 0 {
			for _, v := range prior {
				b = append(b, v...)
				b = append(b, ", "...)
			}
		}
		b = append(b, r.SourceIP...)
		b = append(b, "\r\nX-Forwarded-Proto: "...)
		b = append(b, proto...)
		b = append(b, "\r\n"...)
		if localAP.IsValid() {
			b = append(b, "X-Forwarded-Port: "...)
			b = strconv.AppendUint(b, uint64(localAP.Port()), 10)
			b = append(b, "\r\n"...)
		}
	}
	return append(b, "\r\n"...)
}

// skipRequestHeader reports whether a client header (canonical key) is not
// forwarded as-is: hop-by-hop headers, those the proxy sets itself, and
// Expect (the gateway answers it: net/http sends 100 Continue when the body
// is first read).
func (p *Proxy) skipRequestHeader(k string) bool {
	switch k {
	case "Connection", "Keep-Alive", "Te", "Trailer", "Transfer-Encoding", "Upgrade",
		"Host", "Content-Length", "Expect", "Forwarded", "Via":
		return true
	case "X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Port":
		return p.xForwarded
	}
	return len(k) > 6 && k[:6] == "Proxy-"
}

// listed reports whether name appears in the comma-separated Connection
// header values.
func listed(values []string, name string) bool {
	for _, v := range values {
		for v != "" {
			var tok string
			tok, v, _ = strings.Cut(v, ",")
			if strings.EqualFold(strings.TrimSpace(tok), name) {
				return true
			}
		}
	}
	return false
}

// appendForwardedIP appends an RFC 7239 node: IPv6 quoted and bracketed.
func appendForwardedIP(b []byte, ip netip.Addr) []byte {
	ip = ip.Unmap()
	if ip.Is6() {
		b = append(b, `"[`...)
		b = ip.WithZone("").AppendTo(b)
		return append(b, `]"`...)
	}
	return ip.AppendTo(b)
}

// appendTraceID appends an X-Ray style trace header as API Gateway sends it:
// Root=1-<epoch seconds, 8 hex>-<96 random bits, 24 hex>.
func appendTraceID(b []byte, now time.Time) []byte {
	if now.IsZero() {
		now = time.Now()
	}
	b = append(b, "X-Amzn-Trace-Id: Root="...)
	b = xrayid.New(now).Append(b)
	return append(b, "\r\n"...)
}

func validHostHeader(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || c == ';' || c == ',' || c == '"' {
			return false
		}
	}
	return true
}
