package gateway

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"testing"
)

// FuzzTrackerAgreesWithNetHTTP reads a stream of requests with net/http's
// own reader and feeds the tracker exactly the bytes net/http consumed for
// each request (head, body, trailers). While the tracker neither refused a
// head nor gave up, it must have seen exactly as many heads as net/http
// read, and expect a new head: so it finds the next request where net/http
// will, and never refuses a request net/http reads unambiguously.
func FuzzTrackerAgreesWithNetHTTP(f *testing.F) {
	for _, s := range []string{
		"GET / HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabcGET / HTTP/1.1\r\nHost: x\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n0\r\nT: v\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n",
		"POST / HTTP/1.1\nHost: x\nContent-Length: 1\n\nxGET / HTTP/1.1\nHost: x\n\n",
		"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
		"POST / HTTP/1.0\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 2\r\n\r\nhi",
		"OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\nX: a\r\n  folded\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, stream []byte) {
		br := bufio.NewReaderSize(bytes.NewReader(stream), 64<<10)
		var tr tracker
		fed := 0
		for n := int64(1); ; n++ {
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			options := req.Method == "OPTIONS" && req.RequestURI == "*"
			if _, err := io.Copy(io.Discard, req.Body); err != nil {
				return
			}
			consumed := len(stream) - br.Buffered()
			_, bad := tr.feed(stream[fed:consumed])
			fed = consumed
			if bad != "" || tr.state == stLost {
				return
			}
			if options {
				n--
			}
			if tr.heads != n || tr.state != stHead || len(tr.buf) != 0 {
				t.Fatalf("after request %d (%s %s) net/http consumed %d bytes; tracker: heads %d, state %d, %d bytes pending",
					n, req.Method, req.RequestURI, consumed, tr.heads, tr.state, len(tr.buf))
			}
		}
	})
}
