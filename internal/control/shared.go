package control

import (
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/portico-dev/portico/internal/observe"
	"github.com/portico-dev/portico/internal/observe/accesslog"
	"github.com/portico-dev/portico/internal/queue"
	"github.com/portico-dev/portico/internal/spec"
)

// accessLogs shares stages' access log sinks across deployments: a
// redeploy that keeps a stage's destination and format keeps its sink (and
// its open file), and a sink closes when the last deployment using it has
// drained.
type accessLogs struct {
	mu    sync.Mutex
	sinks map[string]*logSink // by destination and format
}

type logSink struct {
	*accesslog.Sink
	w    io.WriteCloser
	refs int
}

// acquire returns the sink for a stage's settings and a release func.
func (l *accessLogs) acquire(set *spec.AccessLogSettings) (observe.Sink, func(), error) {
	key := set.Destination + "\x00" + set.Format
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.sinks == nil {
		l.sinks = map[string]*logSink{}
	}
	ls := l.sinks[key]
	if ls == nil {
		f, err := accesslog.Compile(set.Format)
		if err != nil {
			return nil, nil, fmt.Errorf("access log format: %w", err)
		}
		w, err := accesslog.OpenDestination(set.Destination, os.Stdout, os.Stderr, accesslog.DefaultMaxBytes, accesslog.DefaultKeep)
		if err != nil {
			return nil, nil, fmt.Errorf("access log destination: %w", err)
		}
		ls = &logSink{Sink: accesslog.NewSink(f, w, accesslog.Options{}), w: w}
		l.sinks[key] = ls
	}
	ls.refs++
	var once sync.Once
	return ls.Sink, func() { once.Do(func() { l.release(key, ls) }) }, nil
}

// Dropped is the number of access log records dropped so far by the open
// sinks (a destination slower than the traffic), for the metrics.
func (l *accessLogs) Dropped() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	var n uint64
	for _, ls := range l.sinks {
		n += ls.Dropped()
	}
	return n
}

func (l *accessLogs) release(key string, ls *logSink) {
	l.mu.Lock()
	ls.refs--
	last := ls.refs == 0
	if last {
		delete(l.sinks, key)
	}
	l.mu.Unlock()
	if last {
		_ = ls.Close()
		_ = ls.w.Close()
	}
}

// queues keeps one concurrency limiter per integration across redeploys,
// so that a deployment draining and its successor share the backend's
// slots; a changed size makes a new limiter. Stats feed the metrics.
type queues struct {
	mu  sync.Mutex
	all map[string]*queueEntry
}

type queueEntry struct {
	cfg queue.Config
	l   *queue.Limiter
}

// get returns the limiter of integration id: the shared one when its size
// is unchanged, else a new one, which is recorded in pending (not yet
// shared) until install; a deployment that never commits leaves the
// shared set as it was.
func (q *queues) get(id string, in *spec.Integration, pending map[string]*queueEntry) (*queue.Limiter, error) {
	cfg := queue.Config{MaxConcurrency: *in.MaxConcurrency, QueueTimeout: millis(in.QueueTimeoutInMillis)}
	if in.MaxQueue != nil {
		cfg.MaxQueue = *in.MaxQueue
	}
	same := func(e *queueEntry) bool {
		return e != nil && e.cfg.MaxConcurrency == cfg.MaxConcurrency && e.cfg.MaxQueue == cfg.MaxQueue && e.cfg.QueueTimeout == cfg.QueueTimeout
	}
	if e := pending[id]; same(e) {
		return e.l, nil
	}
	q.mu.Lock()
	e := q.all[id]
	q.mu.Unlock()
	if same(e) {
		return e.l, nil
	}
	l, err := queue.New(cfg)
	if err != nil {
		return nil, err
	}
	pending[id] = &queueEntry{cfg: cfg, l: l}
	return l, nil
}

// install shares the limiters a committed deployment created.
func (q *queues) install(pending map[string]*queueEntry) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.all == nil {
		q.all = map[string]*queueEntry{}
	}
	for id, e := range pending {
		q.all[id] = e
	}
}

// Stats returns every queue's statistics by "apiID/integration".
func (q *queues) Stats() map[string]queue.Stats {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := make(map[string]queue.Stats, len(q.all))
	for id, e := range q.all {
		out[id] = e.l.Stats()
	}
	return out
}
