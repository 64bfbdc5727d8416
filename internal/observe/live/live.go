// Package live keeps what the web console shows about recent traffic, in
// bounded memory: the last N requests, and per route a rolling window of
// per-second counters (requests, 4xx, 5xx) with a small latency histogram
// per second, from which rates and percentiles are read.
//
// A *Live is an observe.Sink. Observe takes no global lock: it claims a
// ring slot with an atomic counter and locks only that slot and the
// route's current second. Readers (Recent, Series) copy what they need.
package live

import (
	"math"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/portico-dev/portico/internal/observe"
)

var _ observe.Sink = (*Live)(nil)

// Config bounds what a Live keeps.
type Config struct {
	// Requests is how many recent requests are kept; default 200.
	Requests int
	// Window is how far back the per-second counters go, rounded to whole
	// seconds; default 5 minutes.
	Window time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Request is one recent request as the console lists it.
type Request struct {
	Time      time.Time
	RequestID string
	APIID     string
	APIName   string
	Stage     string
	RouteKey  string // empty when no route matched
	Method    string
	Path      string
	Status    int
	Latency   time.Duration
	Function  string // the function of an AWS_PROXY route
	// FunctionRequestID is the Lambda invocation's request id, when the
	// gateway reports it; the function's log lines carry that id.
	FunctionRequestID string
	ColdStart         bool
	ErrorType         string
}

// RouteID names a route of a stage of an API.
type RouteID struct {
	APIID, Stage, RouteKey string
}

// Point is one second of one route's traffic.
type Point struct {
	Time      time.Time // the start of the second
	Requests  int
	Errors4xx int
	Errors5xx int
	// P50, P90 and P99 are latency percentiles estimated from the
	// second's histogram; zero when the second had no requests.
	P50, P90, P99 time.Duration
}

// Series is a route's traffic over a window, one point per second, oldest
// first, seconds without traffic included as zero points.
type Series struct {
	RouteID
	APIName string
	Points  []Point
}

// Live is the console's store. It is safe for concurrent use.
type Live struct {
	now    func() time.Time
	window int64 // seconds

	next  atomic.Uint64
	slots []slot

	routes atomic.Pointer[map[RouteID]*route] // copy on write
	addMu  sync.Mutex
}

type slot struct {
	mu  sync.Mutex
	seq uint64 // 1 + the request's sequence number; 0 when empty
	r   Request
}

// New returns an empty Live.
func New(cfg Config) *Live {
	if cfg.Requests <= 0 {
		cfg.Requests = 200
	}
	if cfg.Window < time.Second {
		cfg.Window = 5 * time.Minute
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	l := &Live{now: cfg.Now, window: int64(cfg.Window / time.Second), slots: make([]slot, cfg.Requests)}
	m := map[RouteID]*route{}
	l.routes.Store(&m)
	return l
}

// Observe records r. It keeps no reference to r.
func (l *Live) Observe(r *observe.Record) {
	t := r.Time
	lat := r.ResponseLatency
	if t.IsZero() {
		t = l.now().Add(-lat)
	}
	seq := l.next.Add(1)
	s := &l.slots[(seq-1)%uint64(len(l.slots))]
	s.mu.Lock()
	s.seq = seq
	s.r = Request{Time: t, RequestID: r.RequestID, APIID: r.APIID, APIName: r.APIName, Stage: r.Stage,
		RouteKey: r.RouteKey, Method: r.HTTPMethod, Path: r.Path, Status: r.Status, Latency: lat,
		Function: r.Function, FunctionRequestID: r.FunctionRequestID, ColdStart: r.ColdStart, ErrorType: r.ErrorType}
	s.mu.Unlock()

	rt := l.route(RouteID{r.APIID, r.Stage, r.RouteKey}, r.APIName)
	rt.add(t.Add(lat).Unix(), r.Status, lat)
}

// Recent returns up to n of the most recent requests, newest first.
func (l *Live) Recent(n int) []Request {
	last := l.next.Load()
	if n > len(l.slots) {
		n = len(l.slots)
	}
	out := make([]Request, 0, n)
	for seq := last; seq > 0 && len(out) < n && last-seq < uint64(len(l.slots)); seq-- {
		s := &l.slots[(seq-1)%uint64(len(l.slots))]
		s.mu.Lock()
		if s.seq == seq {
			out = append(out, s.r)
		}
		s.mu.Unlock()
	}
	return out
}

// Series returns every route's traffic over the last d (at most the
// configured window), ending with the current second, routes sorted by
// API, stage and route key.
func (l *Live) Series(d time.Duration) []Series {
	secs := int64(d / time.Second)
	if secs <= 0 || secs > l.window {
		secs = l.window
	}
	end := l.now().Unix()
	m := *l.routes.Load()
	out := make([]Series, 0, len(m))
	for id, rt := range m {
		out = append(out, Series{RouteID: id, APIName: rt.apiName, Points: rt.points(end-secs+1, end)})
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i].RouteID, out[j].RouteID
		if a.APIID != b.APIID {
			return a.APIID < b.APIID
		}
		if a.Stage != b.Stage {
			return a.Stage < b.Stage
		}
		return a.RouteKey < b.RouteKey
	})
	return out
}

func (l *Live) route(id RouteID, apiName string) *route {
	if rt := (*l.routes.Load())[id]; rt != nil {
		return rt
	}
	l.addMu.Lock()
	defer l.addMu.Unlock()
	old := *l.routes.Load()
	if rt := old[id]; rt != nil {
		return rt
	}
	rt := &route{apiName: apiName, secs: make([]second, l.window)}
	m := make(map[RouteID]*route, len(old)+1)
	for k, v := range old {
		m[k] = v
	}
	m[id] = rt
	l.routes.Store(&m)
	return rt
}

// route is one route's ring of seconds.
type route struct {
	apiName string
	mu      sync.Mutex
	secs    []second
}

// second is one second of traffic; unix identifies which second the slot
// currently holds.
type second struct {
	unix          int64
	n, e4xx, e5xx uint32
	hist          [numBuckets]uint32
}

func (rt *route) add(unix int64, status int, lat time.Duration) {
	b := bucketOf(lat)
	rt.mu.Lock()
	s := &rt.secs[uint64(unix)%uint64(len(rt.secs))]
	if s.unix != unix {
		*s = second{unix: unix}
	}
	s.n++
	switch {
	case status >= 500:
		s.e5xx++
	case status >= 400:
		s.e4xx++
	}
	s.hist[b]++
	rt.mu.Unlock()
}

func (rt *route) points(from, to int64) []Point {
	out := make([]Point, 0, to-from+1)
	var s second
	for u := from; u <= to; u++ {
		rt.mu.Lock()
		s = rt.secs[uint64(u)%uint64(len(rt.secs))]
		rt.mu.Unlock()
		p := Point{Time: time.Unix(u, 0)}
		if s.unix == u && s.n > 0 {
			p.Requests, p.Errors4xx, p.Errors5xx = int(s.n), int(s.e4xx), int(s.e5xx)
			p.P50 = quantile(&s.hist, s.n, 0.50)
			p.P90 = quantile(&s.hist, s.n, 0.90)
			p.P99 = quantile(&s.hist, s.n, 0.99)
		}
		out = append(out, p)
	}
	return out
}

// The latency histogram has log-spaced buckets: bucket i holds latencies
// up to minLatency*growth^i; the last holds everything above.
const (
	numBuckets = 64
	minLatency = 100 * time.Microsecond
	growth     = 1.25
)

var logGrowth = math.Log(growth)

func bucketOf(d time.Duration) int {
	if d <= minLatency {
		return 0
	}
	i := int(math.Ceil(math.Log(float64(d)/float64(minLatency)) / logGrowth))
	if i >= numBuckets {
		i = numBuckets - 1
	}
	return i
}

func bucketUpper(i int) float64 { return float64(minLatency) * math.Pow(growth, float64(i)) }

// quantile estimates the q-quantile, interpolating inside the bucket.
func quantile(h *[numBuckets]uint32, n uint32, q float64) time.Duration {
	rank := q * float64(n)
	var cum float64
	for i, c := range h {
		if c == 0 {
			continue
		}
		if cum+float64(c) >= rank {
			lo := 0.0
			if i > 0 {
				lo = bucketUpper(i - 1)
			}
			hi := bucketUpper(i)
			return time.Duration(lo + (hi-lo)*(rank-cum)/float64(c))
		}
		cum += float64(c)
	}
	return time.Duration(bucketUpper(numBuckets - 1))
}
