package lambda

import (
	"io"
	"sync"
)

// output echoes functions' log lines to one writer (a terminal), each line
// prefixed with "[name] ". It is safe for concurrent use: lines of
// different functions never interleave within a line.
type output struct {
	mu  sync.Mutex
	w   io.Writer
	buf []byte
}

// echo returns the line sink of one function's log.
func (o *output) echo(name string) func(line []byte) {
	prefix := "[" + name + "] "
	return func(line []byte) {
		o.mu.Lock()
		defer o.mu.Unlock()
		o.buf = append(append(o.buf[:0], prefix...), line...)
		o.w.Write(o.buf) // best effort: the log keeps the line anyway
	}
}
