package metrics

import (
	"strings"
	"sync"

	"github.com/portico-dev/portico/internal/invocation"
	"github.com/prometheus/client_golang/prometheus"
)

// funcHandle holds one function's pre-resolved series and its sandbox
// counts per state.
type funcHandle struct {
	invocations, coldStarts prometheus.Counter
	duration, initDuration  prometheus.Observer
	concurrent, cold, warm  prometheus.Gauge
	errorTypes              capped

	mu     sync.Mutex
	states [4]int // per invocation.SandboxState
}

// function returns fn's series, creating them on first use.
func (m *Metrics) function(fn string) *funcHandle {
	if h, ok := m.funcs.Load(fn); ok {
		return h.(*funcHandle)
	}
	h := &funcHandle{
		invocations:  m.invocations.WithLabelValues(fn),
		coldStarts:   m.coldStarts.WithLabelValues(fn),
		duration:     m.duration.WithLabelValues(fn),
		initDuration: m.initDuration.WithLabelValues(fn),
		concurrent:   m.concurrent.WithLabelValues(fn),
		cold:         m.sandboxes.WithLabelValues(fn, "cold"),
		warm:         m.sandboxes.WithLabelValues(fn, "warm"),
	}
	actual, _ := m.funcs.LoadOrStore(fn, h)
	return actual.(*funcHandle)
}

// errorTypeLabel keeps the error_type label bounded: platform types
// (Runtime.*, Sandbox.*, Function.*) and Canceled as they are, the types
// functions report themselves (any exception name) as "Unhandled".
func errorTypeLabel(t string) string {
	if t == invocation.ErrorCanceled || strings.HasPrefix(t, "Runtime.") || strings.HasPrefix(t, "Sandbox.") || strings.HasPrefix(t, "Function.") {
		return t
	}
	return "Unhandled"
}

// Invoked implements lambda.Observer.
func (m *Metrics) Invoked(fn string, s invocation.Stats) {
	h := m.function(fn)
	h.invocations.Inc()
	if s.Duration > 0 {
		h.duration.Observe(s.Duration.Seconds())
	}
	if s.Cold {
		h.coldStarts.Inc()
		if s.InitDuration > 0 {
			h.initDuration.Observe(s.InitDuration.Seconds())
		}
	}
	if s.ErrorType != "" {
		m.errors.WithLabelValues(fn, h.errorTypes.value(errorTypeLabel(s.ErrorType))).Inc()
	}
}

// Throttled implements lambda.Observer.
func (m *Metrics) Throttled(fn, reason string) {
	m.function(fn)
	m.throttles.WithLabelValues(fn, orDash(reason)).Inc()
}

// SandboxChanged implements lambda.Observer: cold sandboxes are
// initializing, warm ones are busy or idle, concurrent executions are the
// sandboxes initializing or busy.
func (m *Metrics) SandboxChanged(fn string, from, to invocation.SandboxState) {
	h := m.function(fn)
	h.mu.Lock()
	defer h.mu.Unlock()
	if int(from) < len(h.states) {
		h.states[from]--
	}
	if int(to) < len(h.states) {
		h.states[to]++
	}
	cold := h.states[invocation.SandboxInitializing]
	busy := h.states[invocation.SandboxBusy]
	h.cold.Set(float64(cold))
	h.warm.Set(float64(busy + h.states[invocation.SandboxIdle]))
	h.concurrent.Set(float64(cold + busy))
}

// retainFunctions deletes the counters and histograms of functions not
// listed, and their gauges once no sandbox is left.
func (m *Metrics) retainFunctions(functions []string) {
	keep := make(map[string]bool, len(functions))
	for _, f := range functions {
		keep[f] = true
	}
	m.funcs.Range(func(k, v any) bool {
		fn, h := k.(string), v.(*funcHandle)
		if keep[fn] {
			return true
		}
		l := prometheus.Labels{"function": fn}
		m.invocations.DeletePartialMatch(l)
		m.coldStarts.DeletePartialMatch(l)
		m.errors.DeletePartialMatch(l)
		m.throttles.DeletePartialMatch(l)
		m.duration.DeletePartialMatch(l)
		m.initDuration.DeletePartialMatch(l)
		h.mu.Lock()
		idle := h.states[invocation.SandboxInitializing] == 0 && h.states[invocation.SandboxBusy] == 0 && h.states[invocation.SandboxIdle] == 0
		if idle {
			m.funcs.Delete(fn)
			m.concurrent.DeletePartialMatch(l)
			m.sandboxes.DeletePartialMatch(l)
		}
		h.mu.Unlock()
		return true
	})
}
