package runtimeapi

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"net/textproto"
	"strings"
	"testing"

	"github.com/portico-dev/portico/internal/httptoken"
)

// discardConn is the write side of a connection whose answers the
// differential fuzz does not read.
type discardConn struct{ net.Conn }

func (discardConn) Write(p []byte) (int, error) { return len(p), nil }

// ours parses raw with the Runtime API codec: accepted (the request line and
// headers were taken, whatever the route), and the request's facts.
func ours(raw string) (accepted bool, route int, r request, body []byte, bodyErr error) {
	cn := &conn{s: New(nil), c: discardConn{}}
	cn.br = bufio.NewReader(strings.NewReader(raw))
	cn.bw = bufio.NewWriter(discardConn{})
	cn.body.cn = cn
	route, _, status := cn.readRequest()
	if status != 0 {
		return false, 0, request{}, nil, nil
	}
	if route == routeNone { // answered 404/405 after skipping the body
		return true, route, request{}, nil, nil
	}
	r = cn.req
	body, bodyErr = io.ReadAll(r.body)
	return true, route, r, body, bodyErr
}

// theirs parses raw as net/http's server would: ReadRequest, then the
// checks conn.serve adds before calling the handler (Host, Expect, HTTP/1.x).
func theirs(raw string) (req *http.Request, accepted bool) {
	req, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw)))
	if err != nil {
		return nil, false
	}
	if req.ProtoMajor != 1 {
		return nil, false
	}
	// ReadRequest moves Host out of the header; count the lines again.
	_, rest, _ := strings.Cut(raw, "\n")
	mh, _ := textproto.NewReader(bufio.NewReader(strings.NewReader(rest))).ReadMIMEHeader()
	if hosts := mh["Host"]; req.ProtoAtLeast(1, 1) && len(hosts) == 0 || len(hosts) > 1 {
		return nil, false
	}
	if e := req.Header.Get("Expect"); e != "" && !strings.EqualFold(e, "100-continue") {
		return nil, false
	}
	return req, true
}

// knownDifference reports inputs where the codec departs from net/http on
// purpose (documented in docs/architecture.md, "Hand-written codecs").
func knownDifference(raw string, req *http.Request) bool {
	head, _, _ := strings.Cut(raw, "\r\n\r\n")
	line, _, _ := strings.Cut(head, "\n")
	switch {
	// net/http takes any HTTP/1.x minor version as 1.1; the codec only 1.0
	// and 1.1 (runtimes send 1.1).
	case !strings.HasSuffix(strings.TrimSuffix(line, "\r"), " HTTP/1.1") && !strings.HasSuffix(strings.TrimSuffix(line, "\r"), " HTTP/1.0"):
		return true
	// net/http validates the Host value (and takes absolute-form targets);
	// the runtime on loopback sends whatever host its SDK builds, and the
	// codec routes by path only.
	case req != nil && req.URL.Host != "":
		return true
	// A message with both Content-Length and Transfer-Encoding is refused
	// (400), as RFC 9112 §6.3 allows: it is how requests are smuggled.
	// net/http drops the Content-Length and reads the chunks.
	case req != nil && len(req.TransferEncoding) > 0 && strings.Contains(strings.ToLower(head), "\ncontent-length:"):
		return true
	}
	// net/http ignores Transfer-Encoding in an HTTP/1.0 request; the codec
	// refuses it (RFC 9112 §6.1: the framing is faulty).
	if strings.Contains(strings.ToLower(head), "\ntransfer-encoding:") && strings.HasSuffix(strings.TrimSuffix(line, "\r"), " HTTP/1.0") {
		return true
	}
	// net/http takes header names that are not tokens ("X Y: z") and
	// obsolete line folding; the codec answers 400, as RFC 9112 §5.1 and
	// §5.2 allow.
	for _, l := range strings.Split(head, "\n")[1:] {
		l = strings.TrimSuffix(l, "\r")
		if l != "" && (l[0] == ' ' || l[0] == '\t') {
			return true
		}
		if name, _, ok := strings.Cut(l, ":"); ok && !httptoken.Valid(name) {
			return true
		}
	}
	return false
}

// FuzzConnMatchesNetHTTP feeds the same bytes to the Runtime API codec and
// to net/http's ReadRequest and compares whether each accepts them and,
// when both do, the route (path), Content-Length, Content-Type, the two
// Lambda headers and the body.
func FuzzConnMatchesNetHTTP(f *testing.F) {
	for _, s := range []string{
		"GET " + targetNext + " HTTP/1.1\r\nHost: a\r\n\r\n",
		"POST " + prefixInvocation + "id-1/response HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nhello",
		"POST " + prefixInvocation + "id%201/error HTTP/1.1\r\nHost: a\r\nLambda-Runtime-Function-Error-Type: E\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nLambda-Runtime-Function-Error-Body: Yg==\r\n\r\n",
		"POST " + targetInitError + " HTTP/1.0\r\nContent-Length: 1\r\n\r\nx",
		"POST " + targetInitError + " HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nxy",
		"POST " + targetInitError + " HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n",
		"POST " + targetInitError + " HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
		"GET /x HTTP/1.1\r\nHost: a\r\nX Y: z\r\n\r\n",
		"GET /x HTTP/1.1\r\n Host: a\r\n\r\n",
		"GET /x HTTP/1.1\r\nHost: a\r\nExpect: 200-ok\r\n\r\n",
		"G@T /x HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET /x?y HTTP/1.1\r\nHost: a\r\nContent-Length: +1\r\n\r\nx",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		if len(raw) > 64<<10 {
			return
		}
		req, theirOK := theirs(raw)
		if knownDifference(raw, req) {
			return
		}
		ok, route, r, body, bodyErr := ours(raw)
		if ok != theirOK {
			t.Fatalf("codec accepts %v, net/http %v, for %q", ok, theirOK, raw)
		}
		if !ok {
			return
		}
		want, _, _ := routeOf([]byte(req.URL.EscapedPath()))
		if get := req.Method == "GET" || req.Method == "HEAD"; want == routeNext && !get || want != routeNext && req.Method != "POST" {
			want = routeNone // 405
		}
		if want != route && req.URL.RawQuery == "" && !strings.Contains(req.RequestURI, "#") {
			t.Fatalf("route %d, net/http's path %q routes to %d, for %q", route, req.URL.EscapedPath(), want, raw)
		}
		if route == routeNone {
			return
		}
		theirBody, theirErr := io.ReadAll(req.Body)
		// The codec ends a chunked body's trailers at a bare LF as at CRLF
		// (it is lenient on line ends everywhere); net/http wants CRLF there.
		if (bodyErr == nil) != (theirErr == nil) && !(bodyErr == nil && len(req.TransferEncoding) > 0) {
			t.Fatalf("body error: codec %v, net/http %v, for %q", bodyErr, theirErr, raw)
		}
		if bodyErr != nil || theirErr != nil {
			return
		}
		if !bytes.Equal(body, theirBody) {
			t.Fatalf("body %q, net/http %q, for %q", body, theirBody, raw)
		}
		for _, c := range []struct{ name, got, want string }{
			{"Content-Type", r.contentType, first(req.Header, "Content-Type")},
			{HeaderResponseMode, r.mode, first(req.Header, HeaderResponseMode)},
			{HeaderErrorType, r.errorType, first(req.Header, HeaderErrorType)},
		} {
			if c.got != c.want {
				t.Fatalf("%s %q, net/http %q, for %q", c.name, c.got, c.want, raw)
			}
		}
		if want := req.ContentLength; r.contentLength != want && !(want == 0 && r.contentLength == 0) {
			t.Fatalf("content length %d, net/http %d, for %q", r.contentLength, want, raw)
		}
	})
}

func first(h http.Header, k string) string {
	if v := h.Values(k); len(v) > 0 {
		return v[0]
	}
	return ""
}
