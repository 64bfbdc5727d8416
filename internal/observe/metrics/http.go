package metrics

import (
	"sync"

	"github.com/portico-dev/portico/internal/observe"
	"github.com/prometheus/client_golang/prometheus"
)

// RouteID names one route's series: the API (its name, or its ID when it
// has none), the stage and the route key as in the spec.
type RouteID struct{ API, Stage, Route string }

// routeHandle holds one route's pre-resolved series, so that Observe does
// no label lookups on the common path.
type routeHandle struct {
	status                  [5]prometheus.Counter // 1xx..5xx
	latency, integ, queue   prometheus.Observer
	requestBytes, respBytes prometheus.Counter
	models                  capped
}

// routeTable maps RouteID to handles; reads take a shared lock (a struct
// key needs no allocation, unlike sync.Map's interface keys).
type routeTable struct {
	mu sync.RWMutex
	m  map[RouteID]*routeHandle
}

// routeID is the label set of a record; empty values become "-".
func routeID(r *observe.Record) RouteID {
	api := r.APIName
	if api == "" {
		api = r.APIID
	}
	return RouteID{orDash(api), orDash(r.Stage), orDash(r.RouteKey)}
}

// handle returns the series of id, creating them on first use.
func (m *Metrics) handle(id RouteID) *routeHandle {
	m.routes.mu.RLock()
	h := m.routes.m[id]
	m.routes.mu.RUnlock()
	if h != nil {
		return h
	}
	m.routes.mu.Lock()
	defer m.routes.mu.Unlock()
	if h = m.routes.m[id]; h != nil {
		return h
	}
	if len(m.routes.m) >= MaxRoutes {
		id.Route = "_other"
		if h = m.routes.m[id]; h != nil {
			return h
		}
	}
	l := []string{id.API, id.Stage, id.Route}
	h = &routeHandle{
		latency:      m.latency.WithLabelValues(l...),
		integ:        m.integLatency.WithLabelValues(l...),
		queue:        m.queueWait.WithLabelValues(l...),
		requestBytes: m.requestBytes.WithLabelValues(l...),
		respBytes:    m.responseBytes.WithLabelValues(l...),
	}
	for i := range h.status {
		h.status[i] = m.requests.WithLabelValues(id.API, id.Stage, id.Route, statusClass((i+1)*100))
	}
	if m.routes.m == nil {
		m.routes.m = map[RouteID]*routeHandle{}
	}
	m.routes.m[id] = h
	return h
}

// Observe counts one finished request. It does not keep r.
func (m *Metrics) Observe(r *observe.Record) {
	id := routeID(r)
	h := m.handle(id)
	if c := r.Status / 100; c >= 1 && c <= 5 {
		h.status[c-1].Inc()
	} else {
		m.requests.WithLabelValues(id.API, id.Stage, id.Route, "other").Inc()
	}
	h.latency.Observe(r.ResponseLatency.Seconds())
	if r.IntegrationLatency > 0 {
		h.integ.Observe(r.IntegrationLatency.Seconds())
	}
	if r.QueueWait > 0 {
		h.queue.Observe(r.QueueWait.Seconds())
	}
	if r.RequestLen > 0 {
		h.requestBytes.Add(float64(r.RequestLen))
	}
	if r.ResponseLen > 0 {
		h.respBytes.Add(float64(r.ResponseLen))
	}
	if r.ErrorType != "" {
		m.gatewayErrors.WithLabelValues(id.API, id.Stage, id.Route, r.ErrorType).Inc()
	}
	if r.PromptTokens > 0 || r.CompletionTokens > 0 {
		model := h.models.value(orDash(r.Model))
		if r.PromptTokens > 0 {
			m.aiTokens.WithLabelValues(id.API, id.Stage, id.Route, model, "prompt").Add(float64(r.PromptTokens))
		}
		if r.CompletionTokens > 0 {
			m.aiTokens.WithLabelValues(id.API, id.Stage, id.Route, model, "completion").Add(float64(r.CompletionTokens))
		}
	}
}

// Retain deletes the series of every route and function not listed, so
// that redeploys that rename or remove routes do not accumulate series.
// Call it after each redeploy with what is now deployed. Requests of the
// old deployment still in flight may briefly re-create a removed route's
// series; the next Retain removes them. Function sandbox gauges are kept
// while non-zero (a drained function's sandboxes may still be stopping).
func (m *Metrics) Retain(routes []RouteID, functions []string) {
	m.retainMu.Lock()
	defer m.retainMu.Unlock()
	keep := make(map[RouteID]bool, len(routes))
	for _, id := range routes {
		keep[RouteID{orDash(id.API), orDash(id.Stage), orDash(id.Route)}] = true
	}
	m.routes.mu.Lock()
	var gone []RouteID
	for id := range m.routes.m {
		if !keep[id] {
			gone = append(gone, id)
			delete(m.routes.m, id)
		}
	}
	m.routes.mu.Unlock()
	for _, id := range gone {
		l := prometheus.Labels{"api": id.API, "stage": id.Stage, "route": id.Route}
		for _, v := range []interface {
			DeletePartialMatch(prometheus.Labels) int
		}{m.requests, m.latency, m.integLatency, m.queueWait, m.requestBytes, m.responseBytes, m.gatewayErrors, m.aiTokens} {
			v.DeletePartialMatch(l)
		}
	}
	m.retainFunctions(functions)
}
