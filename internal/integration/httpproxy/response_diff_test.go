package httpproxy

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/portico-dev/portico/internal/httptoken"
)

// ourResponse reads raw with the proxy's response reader: the head, then
// the body by its framing.
func ourResponse(raw string) (r *response, body []byte, bodyErr, err error) {
	c := &conn{br: bufio.NewReader(strings.NewReader(raw))}
	r, _, err = c.readHead(64 << 10)
	if err != nil {
		return nil, nil, nil, err
	}
	rec := httptest.NewRecorder()
	s := &sink{w: rec}
	buf := make([]byte, 512)
	switch {
	case r.chunked:
		bodyErr = c.copyChunked(s, buf)
	case r.contentLength >= 0:
		bodyErr = c.copyN(s, buf, r.contentLength)
	default:
		bodyErr = c.copyUntilEOF(s, buf)
	}
	return r, rec.Body.Bytes(), bodyErr, nil
}

// theirResponse reads raw as net/http's Transport does: ReadResponse,
// skipping 1xx interim responses.
func theirResponse(raw string) (*http.Response, error) {
	br := bufio.NewReader(strings.NewReader(raw))
	for range max1xx {
		resp, err := http.ReadResponse(br, &http.Request{Method: "GET"})
		if err != nil || resp.StatusCode >= 200 || resp.StatusCode == http.StatusSwitchingProtocols {
			return resp, err
		}
	}
	return nil, io.ErrUnexpectedEOF
}

// responseKnownDifference reports inputs where the reader departs from
// net/http on purpose (docs/architecture.md, "Hand-written codecs"): it
// refuses header names that are not tokens, obsolete line folding,
// Transfer-Encoding in HTTP/1.0, 101
// (a proxy cannot switch protocols here), versions other than HTTP/1.0 and
// 1.1, and status lines net/http reads leniently ("HTTP/1.1 200OK",
// three-digit codes below 100 or above 999 aside).
func responseKnownDifference(raw string) bool {
	head, _, _ := strings.Cut(raw, "\n\n")
	head, _, _ = strings.Cut(head, "\r\n\r\n")
	// net/http ignores Transfer-Encoding in an HTTP/1.0 response; the
	// reader decodes chunked or refuses the message (RFC 9112 §6.1:
	// faulty framing).
	if strings.HasPrefix(raw, "HTTP/1.0") && strings.Contains(strings.ToLower(head), "\ntransfer-encoding:") {
		return true
	}
	lines := strings.Split(head, "\n")
	for i, l := range lines {
		l = strings.TrimSuffix(l, "\r")
		if i == 0 {
			if len(l) < 12 || !strings.HasPrefix(l, "HTTP/1.0 ") && !strings.HasPrefix(l, "HTTP/1.1 ") || len(l) > 12 && l[12] != ' ' || strings.HasPrefix(l[9:], "101") || l[9] == '1' {
				return true
			}
			continue
		}
		if l != "" && (l[0] == ' ' || l[0] == '\t') {
			return true
		}
		if name, _, ok := strings.Cut(l, ":"); ok && !httptoken.Valid(name) {
			return true
		}
	}
	return false
}

// FuzzResponseMatchesNetHTTP feeds the same upstream bytes to the proxy's
// response reader and to net/http's ReadResponse and compares whether each
// accepts them and, when both do, the status, the header fields, the
// framing and the body.
func FuzzResponseMatchesNetHTTP(f *testing.F) {
	for _, s := range []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: 1\r\nX-A: 2\r\n\r\nhello",
		"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nT: x\r\n\r\n",
		"HTTP/1.0 404 Not Found\r\nContent-Type: text/plain\r\n\r\nuntil close",
		"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nxy",
		"HTTP/1.1 200 OK\r\nContent-Length: +1\r\n\r\nx",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
		"HTTP/1.1 204\r\n\r\n",
		"HTTP/1.1 200 OK\r\nX Y: z\r\n\r\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		if len(raw) > 32<<10 || responseKnownDifference(raw) {
			return
		}
		resp, theirErr := theirResponse(raw)
		r, body, bodyErr, err := ourResponse(raw)
		if (err == nil) != (theirErr == nil) {
			t.Fatalf("reader err %v, net/http err %v, for %q", err, theirErr, raw)
		}
		if err != nil {
			return
		}
		if r.status != resp.StatusCode {
			t.Fatalf("status %d, net/http %d, for %q", r.status, resp.StatusCode, raw)
		}
		got := http.Header{}
		for _, f := range r.kvs {
			// respond drops Content-Length beside chunked, as net/http does here.
			if f.key != "Transfer-Encoding" && !(f.key == "Content-Length" && r.chunked) {
				got.Add(f.key, f.value)
			}
		}
		want := resp.Header.Clone()
		want.Del("Transfer-Encoding")
		if len(got) != len(want) {
			t.Fatalf("header %v, net/http %v, for %q", got, want, raw)
		}
		for k, vs := range want {
			if strings.Join(got[k], "\x00") != strings.Join(vs, "\x00") {
				t.Fatalf("header %s %q, net/http %q, for %q", k, got[k], vs, raw)
			}
		}
		if theirChunked := len(resp.TransferEncoding) > 0 && resp.TransferEncoding[len(resp.TransferEncoding)-1] == "chunked"; r.chunked != theirChunked {
			t.Fatalf("chunked %v, net/http %v, for %q", r.chunked, theirChunked, raw)
		}
		if resp.StatusCode == http.StatusNoContent || resp.StatusCode == http.StatusNotModified {
			return // no body; respond() does not read one
		}
		theirBody, theirBodyErr := io.ReadAll(resp.Body)
		if (bodyErr == nil) != (theirBodyErr == nil) {
			t.Fatalf("body err %v, net/http %v, for %q", bodyErr, theirBodyErr, raw)
		}
		if bodyErr == nil && !bytes.Equal(body, theirBody) {
			t.Fatalf("body %q, net/http %q, for %q", body, theirBody, raw)
		}
	})
}
