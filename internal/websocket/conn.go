package websocket

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/portico-dev/portico/internal/invocation"
	"github.com/portico-dev/portico/internal/observe"
)

// Conn is one open WebSocket connection.
type Conn struct {
	ID, APIID, Stage string

	ws          *websocket.Conn
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
	// duration, DELETE @connections) for the $disconnect event.
	closing   atomic.Pointer[closeCause]
	idle      *time.Timer
	ready     chan struct{} // closed once the handshake is complete (ws is set)
	done      chan struct{}
	doneOnce  sync.Once
	inflight  sync.WaitGroup
	writeLock sync.Mutex // orders route responses and posts of one connection
}

type closeCause struct {
	code   websocket.StatusCode
	reason string
}

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

	var subprotocols []string
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
		if p := res.Headers["Sec-WebSocket-Protocol"]; p != "" {
			subprotocols = []string{p}
		}
	}
	// Registered before the handshake completes, so that a client that
	// has its 101 can already be reached through @connections (Send waits
	// for ready).
	c.ready = make(chan struct{})
	h.deps.Registry.add(c)
	ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{
		Subprotocols: subprotocols,
		// API Gateway does not check Origin; $connect (or an authorizer)
		// decides who may connect.
		InsecureSkipVerify: true,
	})
	if err != nil {
		h.deps.Registry.remove(c)
		h.deps.Registry.live.Done()
		c.doneOnce.Do(func() { close(c.done) })
		rec.Status, rec.ErrorMessage = http.StatusBadRequest, err.Error()
		h.observe(st, rec, now)
		return // Accept wrote the error
	}
	rec.Status = http.StatusOK
	h.observe(st, rec, now)
	c.ws = ws
	ws.SetReadLimit(h.cfg.Limits.MaxMessageBytes)
	close(c.ready)
	c.idle = time.AfterFunc(h.cfg.Limits.IdleTimeout, func() { c.close(websocket.StatusGoingAway, "Going away") })
	maxTimer := time.AfterFunc(h.cfg.Limits.MaxDuration, func() { c.close(websocket.StatusGoingAway, "Going away") })
	go func() {
		defer maxTimer.Stop()
		c.serve()
	}()
}

// serve reads messages until the connection ends, then runs $disconnect.
func (c *Conn) serve() {
	defer c.h.deps.Registry.live.Done()
	ctx := context.Background()
	var code int
	var reason string
	for {
		typ, data, err := c.ws.Read(ctx)
		if err != nil {
			code, reason = c.disconnectStatus(err)
			break
		}
		c.touch()
		c.inflight.Add(1)
		go func() {
			defer c.inflight.Done()
			c.message(data, typ == websocket.MessageBinary)
		}()
	}
	c.idle.Stop()
	c.doneOnce.Do(func() { close(c.done) })
	c.h.deps.Registry.remove(c)
	c.ws.CloseNow()
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

// disconnectStatus is the status and reason of the $disconnect event:
// the client's close frame, or why Portico closed the connection.
func (c *Conn) disconnectStatus(err error) (int, string) {
	if cc := c.closing.Load(); cc != nil {
		return int(cc.code), cc.reason
	}
	var ce websocket.CloseError
	switch {
	case errors.As(err, &ce) && ce.Code == websocket.StatusNoStatusRcvd:
		return 1005, "Client-side close frame status not set"
	case errors.As(err, &ce):
		return int(ce.Code), ce.Reason
	case websocket.CloseStatus(err) == websocket.StatusMessageTooBig || isReadLimit(err):
		return int(websocket.StatusMessageTooBig), "Message too big"
	}
	return int(websocket.StatusAbnormalClosure), "Connection closed abnormally"
}

// isReadLimit reports the library's error for a message over the read
// limit (it has already sent the 1009 close frame).
func isReadLimit(err error) bool {
	return strings.Contains(err.Error(), "read limited at")
}

// touch resets the idle timer.
func (c *Conn) touch() {
	c.lastActive.Store(c.h.deps.Now().UnixNano())
	c.idle.Reset(c.h.cfg.Limits.IdleTimeout)
}

// close starts the closing handshake with code and reason; the first
// cause wins. It does not wait for the handshake.
func (c *Conn) close(code websocket.StatusCode, reason string) {
	if !c.closing.CompareAndSwap(nil, &closeCause{code, reason}) {
		return
	}
	go func() {
		select {
		case <-c.ready:
			c.ws.Close(code, reason)
		case <-c.done:
		}
	}()
}

// Send writes one text message to the client. It returns ErrGone when the
// connection has closed.
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
	if err := c.ws.Write(ctx, websocket.MessageText, data); err != nil {
		select {
		case <-c.done:
			return ErrGone
		default:
		}
		if ctx.Err() != nil {
			return ctx.Err()
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
