package websocket

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"

	"github.com/portico-dev/portico/internal/invocation"
	"github.com/portico-dev/portico/internal/observe"
)

// Conn is one open WebSocket connection.
type Conn struct {
	ID, APIID, Stage string

	nc          net.Conn  // the hijacked connection; set before ready closes
	src         io.Reader // what the client sent: the hijack's buffered reader, then nc
	h           *Handler
	st          *Stage
	domainName  string
	sourceIP    string
	userAgent   string
	connectedAt time.Time
	lastActive  atomic.Int64 // unix nanoseconds
	// authorizer and identity are what $connect's authorization learnt;
	// set before the connection opens, read-only after.
	authorizer map[string]any
	identity   *Identity

	// closing records why Portico closed the connection (idle, maximum
	// duration, DELETE @connections, a frame or message too big) for the
	// $disconnect event.
	closing  atomic.Pointer[closeCause]
	idle     *time.Timer
	ready    chan struct{} // closed once the handshake is complete (nc is set)
	done     chan struct{}
	doneOnce sync.Once
	inflight sync.WaitGroup
	// writeLock orders everything written to the client: route responses,
	// posts, control frames. closeSent is under it.
	writeLock sync.Mutex
	closeSent bool
}

type closeCause struct {
	code   ws.StatusCode
	reason string
}

// closeWait bounds how long a connection waits for the client's close
// frame (or end of stream) after Portico sent its own.
const closeWait = 5 * time.Second

func (c *Conn) info() ConnInfo {
	return ConnInfo{ID: c.ID, APIID: c.APIID, Stage: c.Stage, SourceIP: c.sourceIP, UserAgent: c.userAgent,
		ConnectedAt: c.connectedAt, LastSeen: time.Unix(0, c.lastActive.Load())}
}

// connect runs $connect and, when it allows the connection, completes the
// upgrade and serves the connection until it closes.
func (h *Handler) connect(w http.ResponseWriter, r *http.Request, st *Stage) {
	now := h.deps.Now()
	c := &Conn{ID: newID(), APIID: h.cfg.APIID, Stage: st.Name, h: h, st: st, domainName: r.Host,
		sourceIP: sourceIP(r), userAgent: r.UserAgent(), connectedAt: now, done: make(chan struct{})}
	c.lastActive.Store(now.UnixNano())
	rec := h.record(c, "$connect", now)

	var subprotocol string
	if rt := st.Routes["$connect"]; rt != nil && rt.Auth != nil {
		if status := h.authorizeConnect(r.Context(), r, c, st, rt.Auth); status != 0 {
			rec.Status, rec.ErrorType = status, "AUTHORIZER_FAILURE"
			h.observe(st, rec, now)
			writeJSONError(w, status, "", http.StatusText(status))
			return
		}
	}
	if rt := st.Routes["$connect"]; rt != nil {
		if !h.allow(r.Context(), rt) {
			rec.Status, rec.ErrorType = http.StatusTooManyRequests, "THROTTLED"
			h.observe(st, rec, now)
			writeJSONError(w, http.StatusTooManyRequests, "", "Too Many Requests")
			return
		}
		ev := c.connectEvent(r, now, st.Variables)
		res, err := h.invoke(r.Context(), rt, ev, rec)
		if err != nil {
			// AWS refuses the handshake when $connect fails.
			rec.Status = http.StatusInternalServerError
			h.observe(st, rec, now)
			writeJSONError(w, http.StatusInternalServerError, "", "Internal server error")
			return
		}
		if s := res.status(); s < 200 || s > 299 {
			rec.Status = s
			h.observe(st, rec, now)
			writeJSONError(w, s, "", http.StatusText(s))
			return
		}
		subprotocol = res.Headers["Sec-WebSocket-Protocol"]
	}
	// Registered before the handshake completes, so that a client that
	// has its 101 can already be reached through @connections (Send waits
	// for ready).
	c.ready = make(chan struct{})
	h.deps.Registry.add(c)
	// API Gateway does not check Origin; $connect (or an authorizer)
	// decides who may connect.
	up := ws.HTTPUpgrader{Timeout: closeWait}
	if subprotocol != "" {
		up.Protocol = func(p string) bool { return p == subprotocol }
	}
	nc, rw, _, err := up.Upgrade(r, w)
	if err != nil {
		if nc != nil {
			nc.Close()
		}
		h.deps.Registry.remove(c)
		h.deps.Registry.live.Done()
		c.doneOnce.Do(func() { close(c.done) })
		rec.Status, rec.ErrorMessage = http.StatusBadRequest, err.Error()
		h.observe(st, rec, now)
		return // Upgrade wrote the error
	}
	if h.deps.Upgraded != nil {
		h.deps.Upgraded(r)
	}
	rec.Status = http.StatusOK
	h.observe(st, rec, now)
	c.nc, c.src = nc, io.Reader(nc)
	if rw.Reader.Buffered() > 0 {
		// The client's first frames arrived with the handshake.
		c.src = io.MultiReader(io.LimitReader(rw.Reader, int64(rw.Reader.Buffered())), nc)
	}
	close(c.ready)
	c.idle = time.AfterFunc(h.cfg.Limits.IdleTimeout, func() { c.close(ws.StatusGoingAway, "Going away") })
	maxTimer := time.AfterFunc(h.cfg.Limits.MaxDuration, func() { c.close(ws.StatusGoingAway, "Going away") })
	go func() {
		defer maxTimer.Stop()
		c.serve()
	}()
}

// serve reads messages until the connection ends, then runs $disconnect.
func (c *Conn) serve() {
	defer c.h.deps.Registry.live.Done()
	code, reason := c.readLoop()
	c.idle.Stop()
	c.doneOnce.Do(func() { close(c.done) })
	c.h.deps.Registry.remove(c)
	c.nc.Close()
	c.inflight.Wait()
	if rt := c.st.Routes["$disconnect"]; rt != nil {
		now := c.h.deps.Now()
		rec := c.h.record(c, "$disconnect", now)
		ev := c.disconnectEvent(code, reason, now, c.st.Variables)
		if _, err := c.h.invoke(context.Background(), rt, ev, rec); err == nil {
			rec.Status = http.StatusOK
		} else {
			rec.Status = http.StatusInternalServerError
		}
		c.h.observe(c.st, rec, now)
	}
}

// readLoop reads frames with gobwas/ws's reader, which enforces the frame
// and message limits and reassembles fragmented messages, answers control
// frames, and hands each message to its route. It returns the $disconnect
// status and reason.
func (c *Conn) readLoop() (int, string) {
	lim := c.h.cfg.Limits
	rd := &wsutil.Reader{Source: c.src, State: ws.StateServerSide,
		MaxFrameSize: lim.MaxFrameBytes, MaxMessageSize: lim.MaxMessageBytes, OnIntermediate: c.control}
	for {
		hdr, err := rd.NextFrame()
		if err == nil && hdr.OpCode.IsControl() {
			err = c.control(hdr, rd)
		} else if err == nil {
			var data []byte
			if data, err = readMessage(rd, hdr); err == nil {
				c.touch()
				c.inflight.Add(1)
				go func() {
					defer c.inflight.Done()
					c.message(data, hdr.OpCode == ws.OpBinary)
				}()
			}
		}
		if err != nil {
			return c.ended(err)
		}
	}
}

// readMessage reads the message whose first frame is hdr (its
// continuation frames included).
func readMessage(rd *wsutil.Reader, hdr ws.Header) ([]byte, error) {
	if hdr.Fin {
		data := make([]byte, hdr.Length)
		_, err := io.ReadFull(rd, data)
		return data, err
	}
	return io.ReadAll(rd)
}

// control answers a ping, or the client's close frame (returning
// wsutil.ClosedError); pongs are dropped.
func (c *Conn) control(hdr ws.Header, r io.Reader) error {
	c.writeLock.Lock()
	defer c.writeLock.Unlock()
	dst := io.Writer(c.nc)
	c.nc.SetWriteDeadline(time.Now().Add(closeWait))
	if c.closeSent {
		// Portico started the close handshake: the client's close frame
		// completes it and gets no answer.
		dst = io.Discard
	}
	return wsutil.ControlHandler{Src: r, Dst: dst, State: ws.StateServerSide, DisableSrcCiphering: true}.Handle(hdr)
}

// ended turns the error that ended the read loop into the $disconnect
// status and reason: the client's close frame, or why Portico closed the
// connection. A frame or message over its limit closes with 1009, as on
// AWS.
func (c *Conn) ended(err error) (int, string) {
	var pe ws.ProtocolError
	switch {
	case errors.Is(err, wsutil.ErrFrameTooLarge) || errors.Is(err, wsutil.ErrMessageTooLarge):
		c.closing.CompareAndSwap(nil, &closeCause{ws.StatusMessageTooBig, "Message too big"})
		c.sendClose()
		c.drain()
	case errors.As(err, &pe):
		// A frame the protocol forbids (reserved bits or opcodes, an
		// unmasked frame, a stray continuation).
		c.closing.CompareAndSwap(nil, &closeCause{ws.StatusProtocolError, "Protocol error"})
		c.sendClose()
		c.drain()
	}
	if cc := c.closing.Load(); cc != nil {
		return int(cc.code), cc.reason
	}
	var ce wsutil.ClosedError
	switch {
	case errors.As(err, &ce) && ce.Code == ws.StatusNoStatusRcvd:
		return 1005, "Client-side close frame status not set"
	case errors.As(err, &ce):
		return int(ce.Code), ce.Reason
	}
	return int(ws.StatusAbnormalClosure), "Connection closed abnormally"
}

// drain ends the stream to the client after the close frame (a TCP
// half-close, where the connection has one) and reads and drops what the
// client still sends, until it closes or closeWait passes: closing the
// socket with unread data would reset the connection, and the client
// could lose the close frame. The frames that follow one over the limit
// cannot be read, so the client's close frame is not awaited.
func (c *Conn) drain() {
	if cw, ok := c.nc.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
	}
	c.nc.SetReadDeadline(time.Now().Add(closeWait))
	io.Copy(io.Discard, c.src)
}

// touch resets the idle timer.
func (c *Conn) touch() {
	c.lastActive.Store(c.h.deps.Now().UnixNano())
	c.idle.Reset(c.h.cfg.Limits.IdleTimeout)
}

// close starts the closing handshake with code and reason; the first
// cause wins. It does not wait for the handshake: the read loop ends
// with the client's close frame, or closeWait later.
func (c *Conn) close(code ws.StatusCode, reason string) {
	if !c.closing.CompareAndSwap(nil, &closeCause{code, reason}) {
		return
	}
	go func() {
		select {
		case <-c.ready:
			c.sendClose()
			c.nc.SetReadDeadline(time.Now().Add(closeWait))
		case <-c.done:
		}
	}()
}

// sendClose writes the close frame of c.closing, once.
func (c *Conn) sendClose() {
	cc := c.closing.Load()
	c.writeLock.Lock()
	defer c.writeLock.Unlock()
	if c.closeSent {
		return
	}
	c.closeSent = true
	c.nc.SetWriteDeadline(time.Now().Add(closeWait))
	ws.WriteFrame(c.nc, ws.NewCloseFrame(ws.NewCloseFrameBody(cc.code, cc.reason)))
}

// Send writes one text message to the client, in one frame. It returns
// ErrGone when the connection has closed (or the write failed, which
// ends the connection).
func (c *Conn) Send(ctx context.Context, data []byte) error {
	select {
	case <-c.ready:
	case <-c.done:
		return ErrGone
	case <-ctx.Done():
		return ctx.Err()
	}
	if c.closing.Load() != nil {
		return ErrGone
	}
	c.writeLock.Lock()
	defer c.writeLock.Unlock()
	if c.closeSent {
		return ErrGone
	}
	var hdr bytes.Buffer
	hdr.Grow(ws.MaxHeaderSize)
	ws.WriteHeader(&hdr, ws.Header{Fin: true, OpCode: ws.OpText, Length: int64(len(data))})
	d, _ := ctx.Deadline()
	c.nc.SetWriteDeadline(d)
	cut := make(chan struct{})
	stop := context.AfterFunc(ctx, func() { c.nc.SetWriteDeadline(time.Unix(1, 0)); close(cut) })
	bufs := net.Buffers{hdr.Bytes(), data} // one writev
	_, err := bufs.WriteTo(c.nc)
	if !stop() {
		<-cut // its deadline must not outlive this write
	}
	if err != nil {
		// A partly written frame leaves the stream unusable.
		c.closeSent = true
		c.nc.Close()
		if ctx.Err() != nil {
			select {
			case <-c.done:
			default:
				return ctx.Err()
			}
		}
		return ErrGone
	}
	c.lastActive.Store(c.h.deps.Now().UnixNano())
	return nil
}

// ErrGone is returned for a connection that has closed.
var ErrGone = errors.New("websocket: connection gone")

// message routes one message and runs its integration.
func (c *Conn) message(data []byte, binary bool) {
	h, st := c.h, c.st
	now := h.deps.Now()
	key := "$default"
	if !binary {
		if k := selectRoute(data, h.cfg.RouteSelection); k != "" && st.Routes[k] != nil {
			key = k
		}
	}
	rt := st.Routes[key]
	rec := h.record(c, key, now)
	rec.RequestLen = int64(len(data))
	ev := c.messageEvent(key, data, binary, now, st.Variables)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if rt == nil {
		rec.RouteKey, rec.Status, rec.ErrorMessage = "", http.StatusForbidden, "Forbidden"
		h.observe(st, rec, now)
		c.Send(ctx, gatewayMessage("Forbidden", c.ID, ev.RequestContext.RequestID))
		return
	}
	if !h.allow(ctx, rt) {
		rec.Status, rec.ErrorType = http.StatusTooManyRequests, "THROTTLED"
		h.observe(st, rec, now)
		c.Send(ctx, gatewayMessage("Too Many Requests", c.ID, ev.RequestContext.RequestID))
		return
	}
	res, err := h.invoke(ctx, rt, ev, rec)
	if err != nil {
		rec.Status = http.StatusInternalServerError
		h.observe(st, rec, now)
		c.Send(ctx, gatewayMessage("Internal server error", c.ID, ev.RequestContext.RequestID))
		return
	}
	rec.Status = res.status()
	if rt.TwoWay && res.Body != nil && *res.Body != "" {
		rec.ResponseLen = int64(len(*res.Body))
		c.Send(ctx, []byte(*res.Body))
	}
	h.observe(st, rec, now)
}

// gatewayMessage is the JSON API Gateway sends a client when it cannot
// route a message or its integration fails.
func gatewayMessage(msg, connID, requestID string) []byte {
	b, _ := json.Marshal(struct {
		Message      string `json:"message"`
		ConnectionID string `json:"connectionId"`
		RequestID    string `json:"requestId"`
	}{msg, connID, requestID})
	return b
}

// selectRoute evaluates the route selection path on a JSON message; ""
// when the message is not JSON or the value is not a string.
func selectRoute(data []byte, path []string) string {
	var v any
	if json.Unmarshal(data, &v) != nil {
		return ""
	}
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return ""
		}
		v = m[p]
	}
	s, _ := v.(string)
	return s
}

// allow takes a token from rt's bucket; a store failure lets the event
// through when its decision says so (the store's failure policy).
func (h *Handler) allow(ctx context.Context, rt *Route) bool {
	if rt.Throttle == nil || h.deps.Limiter == nil {
		return true
	}
	d, err := h.deps.Limiter.Take(ctx, rt.ThrottleKey, *rt.Throttle)
	if err != nil {
		h.deps.Logger.Warn("websocket throttle store failed", "key", rt.ThrottleKey, "err", err)
	}
	return d.Allowed
}

// invoke runs rt's function with ev under the route's timeout. A function
// error, an invocation failure or a timeout is an error.
func (h *Handler) invoke(ctx context.Context, rt *Route, ev *Event, rec *observe.Record) (integrationResponse, error) {
	payload, err := json.Marshal(ev)
	if err != nil {
		return integrationResponse{}, err
	}
	if rt.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, rt.Timeout)
		defer cancel()
	}
	start := h.deps.Now()
	res, err := h.deps.Invoker.Invoke(ctx, &invocation.Request{FunctionName: rt.Function, Payload: payload})
	rec.IntegrationLatency = h.deps.Now().Sub(start)
	rec.Function = rt.Function
	if err != nil {
		rec.IntegrationError = err.Error()
		h.deps.Logger.Warn("websocket integration failed", "api", h.cfg.APIID, "route", rt.Key, "err", err)
		return integrationResponse{}, fmt.Errorf("invoke %s: %w", rt.Function, err)
	}
	rec.FunctionRequestID, rec.ColdStart = res.RequestID, res.Cold
	if res.FunctionError != "" {
		rec.IntegrationStatus = http.StatusOK
		rec.IntegrationError = string(res.Payload)
		return integrationResponse{}, fmt.Errorf("invoke %s: function error: %s", rt.Function, res.Payload)
	}
	out := decodeResponse(res.Payload)
	rec.IntegrationStatus = out.status()
	return out, nil
}

// record starts the Record of one event.
func (h *Handler) record(c *Conn, routeKey string, now time.Time) *observe.Record {
	return &observe.Record{RequestID: newID(), Time: now, APIID: h.cfg.APIID, APIName: h.cfg.APIName,
		AccountID: h.cfg.AccountID, Stage: c.Stage, RouteKey: routeKey, HTTPMethod: "GET", Path: "/" + c.Stage,
		Protocol: "HTTP/1.1", DomainName: c.domainName, SourceIP: c.sourceIP, UserAgent: c.userAgent}
}

// observe completes rec and hands it to the sinks.
func (h *Handler) observe(st *Stage, rec *observe.Record, start time.Time) {
	rec.ResponseLatency = h.deps.Now().Sub(start)
	for _, s := range h.deps.Sinks {
		s.Observe(rec)
	}
	for _, s := range st.Sinks {
		s.Observe(rec)
	}
}

func sourceIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// writeJSONError writes API Gateway's {"message"} error body.
func writeJSONError(w http.ResponseWriter, status int, errType, msg string) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	if errType != "" {
		h.Set("x-amzn-ErrorType", errType)
	}
	w.WriteHeader(status)
	b, _ := json.Marshal(map[string]string{"message": msg})
	w.Write(b)
}
