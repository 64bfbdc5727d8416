package gateway

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/integration/httpproxy"
	"github.com/portico-dev/portico/internal/observe"
	"github.com/portico-dev/portico/internal/router"
)

// streamUpstream is a real upstream that reports, as events, when the
// first byte of a request body arrived and how the body ended.
type streamUpstream struct {
	first chan struct{}     // a body's first byte arrived
	done  chan upstreamBody // a body ended
	lens  chan int64        // each access record's request body length
}

type lenSink chan int64

func (s lenSink) Observe(r *observe.Record) { s <- r.RequestLen }

type upstreamBody struct {
	n       int64
	err     error
	length  int64 // r.ContentLength
	chunked bool
}

// startStreaming serves a gateway whose ANY /{proxy+} route proxies to a
// streamUpstream, on a FramingListener as portico up does.
func startStreaming(t *testing.T, to Timeouts) (string, *streamUpstream) {
	t.Helper()
	su := &streamUpstream{first: make(chan struct{}, 1), done: make(chan upstreamBody, 1), lens: make(chan int64, 8)}
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var one [1]byte
		n, err := io.ReadFull(r.Body, one[:])
		if n == 1 {
			su.first <- struct{}{}
			var m int64
			m, err = io.Copy(io.Discard, r.Body)
			n += int(m)
		}
		su.done <- upstreamBody{n: int64(n), err: err, length: r.ContentLength, chunked: len(r.TransferEncoding) > 0}
		fmt.Fprintf(w, "%d", n)
	}))
	t.Cleanup(up.Close)
	px, err := httpproxy.New(httpproxy.Config{URI: up.URL + "/{proxy}"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { px.Close() })
	a := NewAPI("abc1234567", "stream", "000000000000")
	if err := a.AddStage("$default", nil, []router.Route[*Route]{
		{Key: "ANY /{proxy+}", Method: "ANY", Path: "/{proxy+}", Value: &Route{Key: "ANY /{proxy+}", Integration: px, IntegrationType: "HTTP_PROXY"}},
	}); err != nil {
		t.Fatal(err)
	}
	s := New(Deps{Timeouts: to, Sinks: []observe.Sink{lenSink(su.lens)}})
	s.Swap(NewDeployment([]*API{a}))
	return serveFramed(t, s, to), su
}

// wait returns the next value of ch, failing the test if none comes while
// a working gateway would have long delivered it.
func wait[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatalf("no event: %s", what)
		panic("unreachable")
	}
}

func chunk(p []byte) string { return fmt.Sprintf("%x\r\n%s\r\n", len(p), p) }

// TestStreamedBodies: an HTTP_PROXY route's body longer than StreamAhead
// reaches the upstream while the client is still sending it (the upstream
// has its first bytes before the client sent the rest), framed as the
// client declared it; the payload limit, the body timeout and a client that
// goes away mid-body end the upstream's request.
func TestStreamedBodies(t *testing.T) {
	ahead := bytes.Repeat([]byte("a"), StreamAhead)
	rest := bytes.Repeat([]byte("b"), 1000)
	total := len(ahead) + len(rest)
	// dial sends head and the first StreamAhead bytes, then waits for the
	// upstream to have the body's first byte.
	dial := func(t *testing.T, addr string, su *streamUpstream, head string, first []byte) (net.Conn, *bufio.Reader) {
		t.Helper()
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		c.SetDeadline(time.Now().Add(30 * time.Second))
		if _, err := c.Write(append([]byte(head), first...)); err != nil {
			t.Fatal(err)
		}
		wait(t, su.first, "the upstream got no byte before the client sent the rest")
		return c, bufio.NewReader(c)
	}
	status := func(t *testing.T, br *bufio.Reader) (int, bool) {
		t.Helper()
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("read response: %v", err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode, resp.Close
	}

	t.Run("declared length: streamed, forwarded as Content-Length", func(t *testing.T) {
		addr, su := startStreaming(t, Timeouts{})
		c, br := dial(t, addr, su, fmt.Sprintf("POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", total), ahead)
		c.Write(rest)
		got := wait(t, su.done, "upstream body end")
		if got.err != nil || got.n != int64(total) || got.length != int64(total) || got.chunked {
			t.Errorf("upstream got %+v, want %d bytes with Content-Length %[2]d", got, total)
		}
		if code, _ := status(t, br); code != 200 {
			t.Errorf("status %d, want 200", code)
		}
		if n := wait(t, su.lens, "access record"); n != int64(total) {
			t.Errorf("record's request length %d, want %d", n, total)
		}
	})
	t.Run("chunked: streamed, forwarded chunked", func(t *testing.T) {
		addr, su := startStreaming(t, Timeouts{})
		c, br := dial(t, addr, su, "POST /up HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n", []byte(chunk(ahead)))
		io.WriteString(c, chunk(rest)+"0\r\n\r\n")
		got := wait(t, su.done, "upstream body end")
		if got.err != nil || got.n != int64(total) || !got.chunked {
			t.Errorf("upstream got %+v, want %d bytes chunked", got, total)
		}
		if code, _ := status(t, br); code != 200 {
			t.Errorf("status %d, want 200", code)
		}
	})
	t.Run("over the limit mid-stream: 413, the upstream's request cut off", func(t *testing.T) {
		addr, su := startStreaming(t, Timeouts{})
		c, br := dial(t, addr, su, "POST /up HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n", []byte(chunk(ahead)))
		go func() {
			big := []byte(chunk(bytes.Repeat([]byte("c"), 1<<20)))
			for range MaxBodyBytes/(1<<20) + 1 {
				if _, err := c.Write(big); err != nil {
					return // the gateway stopped reading
				}
			}
		}()
		got := wait(t, su.done, "upstream body end")
		if got.err == nil {
			t.Errorf("upstream read a complete body of %d bytes", got.n)
		}
		if code, _ := status(t, br); code != 413 {
			t.Errorf("status %d, want 413", code)
		}
	})
	t.Run("too slow mid-stream: 408, the upstream's request cut off", func(t *testing.T) {
		addr, su := startStreaming(t, Timeouts{Body: 300 * time.Millisecond, BodyMinRate: -1})
		_, br := dial(t, addr, su, fmt.Sprintf("POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", total), ahead)
		got := wait(t, su.done, "upstream body end")
		if got.err == nil {
			t.Errorf("upstream read a complete body of %d bytes", got.n)
		}
		if code, closes := status(t, br); code != 408 || !closes {
			t.Errorf("status %d (close %v), want 408 with Connection: close", code, closes)
		}
	})
	t.Run("client goes away mid-body: the upstream's request is cut off", func(t *testing.T) {
		addr, su := startStreaming(t, Timeouts{})
		c, _ := dial(t, addr, su, fmt.Sprintf("POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", total), ahead)
		c.Close()
		got := wait(t, su.done, "upstream body end")
		if got.err == nil || got.n >= int64(total) {
			t.Errorf("upstream got %+v, want its body cut off", got)
		}
	})
	t.Run("short body of unknown length: buffered, sent with its Content-Length", func(t *testing.T) {
		addr, su := startStreaming(t, Timeouts{})
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		io.WriteString(c, "POST /up HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"+chunk([]byte("hello"))+"0\r\n\r\n")
		wait(t, su.first, "upstream first byte")
		if got := wait(t, su.done, "upstream body end"); got.n != 5 || got.chunked || got.length != 5 {
			t.Errorf("upstream got %+v, want 5 bytes with Content-Length", got)
		}
	})
}
