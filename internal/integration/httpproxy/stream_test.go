package httpproxy

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/portico-dev/portico/internal/edge"
)

// bodyUpstream answers status and counts the requests and body bytes it
// received.
type bodyUpstream struct {
	url         string
	hits, bytes atomic.Int64
	chunked     atomic.Bool
}

func newBodyUpstream(t *testing.T, status int) *bodyUpstream {
	t.Helper()
	u := &bodyUpstream{}
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.hits.Add(1)
		n, _ := io.Copy(io.Discard, r.Body)
		u.bytes.Add(n)
		u.chunked.Store(len(r.TransferEncoding) > 0)
		w.WriteHeader(status)
	}))
	t.Cleanup(s.Close)
	u.url = s.URL
	return u
}

// TestStreamedBodyFailover: a buffered body may go to the next upstream
// after a 5xx, as before; a streamed one (BodyRest) fails over only while
// nothing of its rest was read (a refused connection), and once it was
// sent, the upstream that received it answers, its 5xx included.
func TestStreamedBodyFailover(t *testing.T) {
	const prefix, rest = "first bytes;", "the rest of the body"
	tests := []struct {
		name       string
		streamed   bool
		length     int64 // BodyLength of a streamed body
		firstDown  bool  // the first upstream refuses connections (else it answers 503)
		wantStatus int
		wantSecond int64 // requests the second upstream received
	}{
		{name: "buffered body, 503: fails over", wantStatus: 200, wantSecond: 1},
		{name: "streamed body, 503: the first answers", streamed: true, length: int64(len(prefix + rest)), wantStatus: 503, wantSecond: 0},
		{name: "streamed body, refused: fails over", streamed: true, length: int64(len(prefix + rest)), firstDown: true, wantStatus: 200, wantSecond: 1},
		{name: "streamed chunked body, refused: fails over", streamed: true, length: -1, firstDown: true, wantStatus: 200, wantSecond: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			first, second := newBodyUpstream(t, 503), newBodyUpstream(t, 200)
			firstURL := first.url
			if tt.firstDown {
				firstURL = downURL(t)
			}
			p := newProxy(t, Config{Upstreams: []Upstream{{URI: firstURL + "/"}, {URI: second.url + "/", Priority: 1}}})
			req := httptest.NewRequest("POST", "/", nil)
			ir := front{}.request(req, []byte(prefix))
			if tt.streamed {
				ir.BodyRest, ir.BodyLength = strings.NewReader(rest), tt.length
			} else {
				ir.Body = []byte(prefix + rest)
			}
			rec := httptest.NewRecorder()
			if err := p.Serve(context.Background(), rec, ir); err != nil {
				edge.Render(rec, err)
			}
			if rec.Code != tt.wantStatus {
				t.Errorf("status %d, want %d", rec.Code, tt.wantStatus)
			}
			if got := second.hits.Load(); got != tt.wantSecond {
				t.Errorf("second upstream: %d requests, want %d", got, tt.wantSecond)
			}
			answered := first
			if tt.wantSecond > 0 {
				answered = second
			}
			if got := answered.bytes.Load(); got != int64(len(prefix+rest)) {
				t.Errorf("the answering upstream received %d body bytes, want %d", got, len(prefix+rest))
			}
			if got, want := answered.chunked.Load(), tt.streamed && tt.length < 0; got != want {
				t.Errorf("chunked upstream body = %v, want %v", got, want)
			}
		})
	}
}

// failingReader yields some bytes, then the client's error.
type failingReader struct {
	data string
	err  error
}

func (f *failingReader) Read(p []byte) (int, error) {
	if f.data == "" {
		return 0, f.err
	}
	n := copy(p, f.data)
	f.data = f.data[n:]
	return n, nil
}

// TestStreamedBodyClientError: a failure to read the client's body
// mid-stream is returned as it is (the gateway renders it), and the
// upstream's request is cut off (it sees its body end early), with no
// other upstream tried.
func TestStreamedBodyClientError(t *testing.T) {
	got := make(chan error, 2)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, err := io.ReadAll(r.Body)
		got <- err
	}))
	t.Cleanup(up.Close)
	second := newBodyUpstream(t, 200)
	for _, length := range []int64{100, -1} {
		p := newProxy(t, Config{Upstreams: []Upstream{{URI: up.URL + "/"}, {URI: second.url + "/", Priority: 1}}})
		tooLarge := edge.New(edge.PayloadTooLarge, errors.New("over the limit"))
		ir := front{}.request(httptest.NewRequest("POST", "/", nil), []byte("prefix"))
		ir.BodyRest, ir.BodyLength = &failingReader{data: "some more", err: tooLarge}, length
		err := p.Serve(context.Background(), httptest.NewRecorder(), ir)
		if !errors.Is(err, tooLarge) {
			t.Fatalf("length %d: Serve = %v, want the body's error", length, err)
		}
		if uerr := <-got; uerr == nil {
			t.Errorf("length %d: the upstream read a complete body", length)
		}
	}
	if n := second.hits.Load(); n != 0 {
		t.Errorf("second upstream: %d requests, want 0", n)
	}
}
