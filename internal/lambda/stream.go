package lambda

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/portico-dev/portico/internal/invocation"
	"github.com/portico-dev/portico/internal/lambda/runtimeapi"
)

// InvokeStream runs one synchronous invocation and passes its response to w
// as it arrives: a runtime in streaming mode (Lambda response streaming)
// reaches w chunk by chunk, with no buffering beyond one 32 KiB read; a
// buffered response reaches w as one chunk. Streamed responses are capped
// at runtimeapi.MaxStreamedResponseBytes (Function.ResponseSizeTooLarge
// after what fitted), buffered ones at 6 MB as for Invoke; the function
// timeout applies to the whole stream.
//
// Errors are as for Invoke: *invocation.ServiceError before anything ran; a function
// failure is a result with FunctionError set, whether it happened before
// the first byte (nothing was written) or mid-stream (res.Bytes > 0). If
// ctx ends, the idle timeout strikes or w fails, the sandbox is killed and
// replaced and the error wraps context.Cause(ctx), invocation.ErrStreamIdle or w's
// error.
func (r *Runner) InvokeStream(ctx context.Context, req *invocation.Request, w invocation.StreamWriter, opts invocation.StreamOptions) (*invocation.StreamResult, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	sg := &streamGuard{w: w, idle: opts.IdleTimeout, cancel: cancel, now: time.Now}
	start := time.Now()
	sg.start = start
	id := opts.RequestID
	if id == "" {
		id = invocation.NewRequestID()
	}
	res, err := r.invoke(ctx, req, id, sg)
	sg.close()
	out := &invocation.StreamResult{Streamed: sg.streamed, Bytes: sg.n, Duration: time.Since(start)}
	if !sg.first.IsZero() {
		out.FirstByte = sg.first.Sub(start)
	}
	if err != nil {
		if sg.err != nil {
			return out, fmt.Errorf("lambda %s: stream: %w", req.FunctionName, sg.err)
		}
		return out, err
	}
	out.Result = *res
	if res.FunctionError != "" {
		out.ErrorType = errorTypeOf(res.Payload)
		return out, nil
	}
	if !sg.streamed {
		// A buffered response: one chunk.
		out.ContentType = res.ContentType
		if err := sg.deliver(res.ContentType, res.Payload); err != nil {
			return out, fmt.Errorf("lambda %s: stream: %w", req.FunctionName, err)
		}
		out.Bytes = sg.n
		if !sg.first.IsZero() {
			out.FirstByte = sg.first.Sub(start)
		}
	} else if !sg.begun {
		// A successful, empty stream.
		if err := w.Begin(res.ContentType); err != nil {
			return out, fmt.Errorf("lambda %s: stream: %w", req.FunctionName, err)
		}
	}
	out.Payload = nil
	out.Duration = time.Since(start)
	return out, nil
}

// errorTypeOf reads errorType from an error payload; "" if there is none.
func errorTypeOf(payload []byte) string {
	var e struct {
		ErrorType string `json:"errorType"`
	}
	if json.Unmarshal(payload, &e) != nil {
		return ""
	}
	return e.ErrorType
}

// streamGuard stands between the Runtime API handler and the caller's
// invocation.StreamWriter: it calls Begin lazily, counts, restarts the idle timer at
// every chunk and, once closed, refuses chunks, so that the writer is never
// used after InvokeStream returns.
type streamGuard struct {
	w      invocation.StreamWriter
	idle   time.Duration
	cancel context.CancelCauseFunc
	now    func() time.Time
	start  time.Time

	mu       sync.Mutex
	closed   bool
	begun    bool
	streamed bool
	n        int64
	first    time.Time
	err      error // the writer's
	timer    *time.Timer
}

var _ runtimeapi.Streamer = (*streamGuard)(nil)

// errStreamClosed refuses chunks that arrive after the invocation ended.
var errStreamClosed = errors.New("invocation already ended")

// arm starts the idle timer (when there is one) as the event is handed to
// the runtime.
func (g *streamGuard) arm() {
	if g.idle <= 0 {
		return
	}
	g.mu.Lock()
	if g.timer == nil && !g.closed {
		g.timer = time.AfterFunc(g.idle, func() { g.cancel(invocation.ErrStreamIdle) })
	}
	g.mu.Unlock()
}

// StreamChunk passes one chunk of a streamed response to the writer.
func (g *streamGuard) StreamChunk(contentType string, p []byte) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return errStreamClosed
	}
	if g.err != nil {
		return g.err
	}
	g.streamed = true
	if g.timer != nil {
		g.timer.Stop() // a slow reader is not an idle function
	}
	if err := g.write(contentType, p); err != nil {
		g.err = err
		return err
	}
	if g.timer != nil {
		g.timer.Reset(g.idle)
	}
	return nil
}

// write calls Begin if needed, then Write; g.mu is held.
func (g *streamGuard) write(contentType string, p []byte) error {
	if !g.begun {
		g.begun = true
		if err := g.w.Begin(contentType); err != nil {
			return err
		}
	}
	if len(p) == 0 {
		return nil
	}
	if g.first.IsZero() {
		g.first = g.now()
	}
	n, err := g.w.Write(p)
	g.n += int64(n)
	if err == nil && n < len(p) {
		err = fmt.Errorf("short write: %d of %d bytes", n, len(p))
	}
	return err
}

// deliver writes a buffered response after the invocation ended.
func (g *streamGuard) deliver(contentType string, p []byte) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.write(contentType, p)
}

// close stops the idle timer and refuses further chunks; it waits for a
// chunk being written.
func (g *streamGuard) close() {
	g.mu.Lock()
	g.closed = true
	if g.timer != nil {
		g.timer.Stop()
	}
	g.mu.Unlock()
}
