package gateway

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/portico-dev/portico/internal/integration"
	"github.com/portico-dev/portico/internal/observe"
	"github.com/portico-dev/portico/internal/observe/accesslog"
	"github.com/portico-dev/portico/internal/observe/live"
	"github.com/portico-dev/portico/internal/observe/metrics"
	"github.com/portico-dev/portico/internal/router"
)

// BenchmarkPipelineObserved is BenchmarkPipeline on a stage with an access
// log (JSON preset), with the metrics and the live console as server
// sinks: the cost of a request's attribution and record, for a routed
// request and a not-found one.
func BenchmarkPipelineObserved(b *testing.B) {
	f, err := accesslog.Compile(accesslog.PresetJSON)
	if err != nil {
		b.Fatal(err)
	}
	log := accesslog.NewSink(f, io.Discard, accesslog.Options{})
	defer log.Close()
	s := New(Deps{Sinks: []observe.Sink{metrics.New(), live.New(live.Config{})}})
	a := NewAPI("abc1234567", "b", "000000000000")
	ok := integration.Func(func(ctx context.Context, w http.ResponseWriter, r *integration.Request) error {
		w.WriteHeader(200)
		return nil
	})
	if err := a.AddStage("v1", nil, []router.Route[*Route]{route("GET /items/{id}", "GET", "/items/{id}", ok)}, log); err != nil {
		b.Fatal(err)
	}
	s.Swap(NewDeployment([]*API{a}))
	for _, target := range []string{"/v1/items/42", "/v1/nope"} {
		b.Run(target, func(b *testing.B) {
			req := httptest.NewRequest("GET", target, nil)
			b.ReportAllocs()
			for b.Loop() {
				s.ServeHTTP(discard{h: http.Header{}}, req)
			}
		})
	}
}

// BenchmarkUpload1MiB posts 1 MiB bodies over a kept-alive connection to a
// real server, with and without the framing guard: the cost of following
// every byte's framing and of the body deadlines.
func BenchmarkUpload1MiB(b *testing.B) {
	for _, guarded := range []bool{false, true} {
		name := "plain"
		if guarded {
			name = "framing-guard"
		}
		b.Run(name, func(b *testing.B) {
			s := New(Deps{})
			a := NewAPI("abc1234567", "b", "000000000000")
			ok := integration.Func(func(ctx context.Context, w http.ResponseWriter, r *integration.Request) error {
				w.WriteHeader(200)
				return nil
			})
			if err := a.AddStage("$default", nil, []router.Route[*Route]{route("POST /up", "POST", "/up", ok)}); err != nil {
				b.Fatal(err)
			}
			s.Swap(NewDeployment([]*API{a}))
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			srv := NewHTTPServer(s, Timeouts{})
			if guarded {
				go srv.Serve(FramingListener(ln))
			} else {
				go srv.Serve(ln)
			}
			defer srv.Close()
			body := bytes.Repeat([]byte("x"), 1<<20)
			client := &http.Client{Transport: &http.Transport{}}
			url := "http://" + ln.Addr().String() + "/up"
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				resp, err := client.Post(url, "application/octet-stream", bytes.NewReader(body))
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					b.Fatalf("status %d", resp.StatusCode)
				}
			}
		})
	}
}
