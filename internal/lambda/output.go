package lambda

import (
	"bytes"
	"io"
	"sync"
)

// output echoes functions' log lines to one writer (a terminal), each line
// prefixed with "[name] ". A record whose lines the runtime joined with
// carriage returns (Python's error records, as on AWS) is printed as
// those lines, each prefixed, so a terminal shows the whole traceback. It
// is safe for concurrent use: lines of different functions never
// interleave within a line.
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
		o.buf = append(o.buf[:0], prefix...)
		for i, part := range bytes.Split(bytes.TrimRight(line, "\r\n"), []byte{'\r'}) {
			if i > 0 {
				o.buf = append(append(o.buf, '\n'), prefix...)
			}
			o.buf = append(o.buf, part...)
		}
		o.buf = append(o.buf, '\n')
		o.w.Write(o.buf) // best effort: the log keeps the line anyway
	}
}
