package control

import (
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/portico-dev/portico/internal/observe"
	"github.com/portico-dev/portico/internal/observe/accesslog"
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
