package functionurl

import (
	"bufio"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/cors"
	"github.com/portico-dev/portico/internal/gateway"
	"github.com/portico-dev/portico/internal/integration/lambdaproxy"
	"github.com/portico-dev/portico/internal/invocation"
	"github.com/portico-dev/portico/internal/observe"
	"github.com/portico-dev/portico/internal/router"
)

// streamer streams two chunks; buffered invocations answer body "ok".
type streamer struct{}

func (streamer) Invoke(context.Context, *invocation.Request) (*invocation.Result, error) {
	return &invocation.Result{Payload: []byte(`{"statusCode":200,"body":"ok"}`)}, nil
}

func (streamer) InvokeStream(ctx context.Context, req *invocation.Request, w invocation.StreamWriter, _ invocation.StreamOptions) (*invocation.StreamResult, error) {
	if err := w.Begin("text/plain"); err != nil {
		return nil, err
	}
	for _, c := range []string{"first\n", "second\n"} {
		if _, err := w.Write([]byte(c)); err != nil {
			return nil, err
		}
	}
	return &invocation.StreamResult{Streamed: true}, nil
}

var _ lambdaproxy.StreamInvoker = streamer{}

func newHandler(t testing.TB) *Handler {
	p, err := cors.New(cors.Config{AllowOrigins: []string{"https://page.example"}, AllowMethods: []string{"GET"}})
	if err != nil {
		t.Fatal(err)
	}
	h, err := New(Config{Region: "us-east-1", AccountID: "000000000000", URLs: []URL{
		{Function: "s", ID: "sid", AuthorizationType: "NONE", InvokeMode: "RESPONSE_STREAM", CORS: p},
		{Function: "b", ID: "bid", AuthorizationType: "NONE"},
		{Function: "i", ID: "iid", AuthorizationType: "AWS_IAM"},
	}}, Deps{Invoker: streamer{}})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestServe(t *testing.T) {
	h := newHandler(t)
	tests := []struct {
		name, method, host, path, origin string
		status                           int
		body, acao                       string
	}{
		{"stream by path", "GET", "127.0.0.1:1", "/_lambda-url/s/x", "", 200, "first\nsecond\n", ""},
		{"stream by host", "GET", "sid.lambda-url.us-east-1.localhost:1", "/x", "", 200, "first\nsecond\n", ""},
		{"buffered", "GET", "bid.lambda-url.us-east-1.localhost", "/", "", 200, "ok", ""},
		{"cors allowed origin", "GET", "127.0.0.1", "/_lambda-url/s/", "https://page.example", 200, "first\nsecond\n", "https://page.example"},
		{"cors other origin", "GET", "127.0.0.1", "/_lambda-url/s/", "https://evil.example", 200, "first\nsecond\n", ""},
		{"unknown function", "GET", "127.0.0.1", "/_lambda-url/nope/", "", 404, `{"Message":"Not Found"}`, ""},
		{"unknown url id", "GET", "zzz.lambda-url.us-east-1.localhost", "/", "", 404, `{"Message":"Not Found"}`, ""},
		{"AWS_IAM without principals", "GET", "127.0.0.1", "/_lambda-url/i/", "", 403, `{"Message":"Forbidden"}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, "http://"+tt.host+tt.path, nil)
			r.Host = tt.host
			if tt.origin != "" {
				r.Header.Set("Origin", tt.origin)
			}
			if !Match(r) {
				t.Fatal("Match = false")
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tt.status || w.Body.String() != tt.body || w.Header().Get("Access-Control-Allow-Origin") != tt.acao {
				t.Errorf("%d %q acao %q, want %d %q %q", w.Code, w.Body.String(), w.Header().Get("Access-Control-Allow-Origin"), tt.status, tt.body, tt.acao)
			}
			if w.Header().Get("X-Amzn-Requestid") == "" {
				t.Error("no x-amzn-RequestId")
			}
		})
	}
	if Match(httptest.NewRequest("GET", "http://127.0.0.1/v1/items", nil)) {
		t.Error("an API request matched")
	}
}

// BenchmarkTTFB: time to the first streamed byte through a function URL
// and through an HTTP API route with invokeMode RESPONSE_STREAM, with the
// same in-process streaming function, so only the front doors differ.
func BenchmarkTTFB(b *testing.B) {
	proxy := lambdaproxy.New(lambdaproxy.Config{Function: "s", PayloadFormatVersion: "2.0", InvokeMode: lambdaproxy.InvokeModeResponseStream}, streamer{})
	api := gateway.NewAPI("abc", "api", "000000000000")
	if err := api.AddStage("$default", nil, []router.Route[*gateway.Route]{{Key: "$default", Value: &gateway.Route{Key: "$default", Integration: proxy, Timeout: time.Minute}}}); err != nil {
		b.Fatal(err)
	}
	gw := gateway.New(gateway.Deps{})
	gw.Swap(gateway.NewDeployment([]*gateway.API{api}))
	for _, c := range []struct {
		name string
		h    http.Handler
		path string
	}{{"http-api-route", gw, "/x"}, {"function-url", newHandler(b), "/_lambda-url/s/x"}} {
		b.Run(c.name, func(b *testing.B) {
			srv := httptest.NewServer(c.h)
			defer srv.Close()
			ds := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for range b.N {
				t0 := time.Now()
				resp, err := http.Get(srv.URL + c.path)
				if err != nil {
					b.Fatal(err)
				}
				line, err := bufio.NewReader(resp.Body).ReadString('\n')
				ds = append(ds, time.Since(t0))
				resp.Body.Close()
				if err != nil && !errors.Is(err, context.Canceled) || strings.TrimSpace(line) != "first" {
					b.Fatalf("first line %q: %v", line, err)
				}
			}
			slices.Sort(ds)
			b.ReportMetric(float64(ds[len(ds)/2])/1e3, "p50-µs")
			b.ReportMetric(float64(ds[len(ds)*99/100])/1e3, "p99-µs")
		})
	}
}

func TestRecords(t *testing.T) {
	var got []observe.Record
	h, err := New(Config{Region: "us-east-1", AccountID: "000000000000", URLs: []URL{{Function: "s", ID: "sid", AuthorizationType: "NONE", InvokeMode: "RESPONSE_STREAM"}}},
		Deps{Invoker: streamer{}, Sinks: []observe.Sink{observe.SinkFunc(func(r *observe.Record) { got = append(got, *r) })}})
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("GET", "http://127.0.0.1/_lambda-url/s/a/b", nil)
	h.ServeHTTP(httptest.NewRecorder(), r)
	if len(got) != 1 {
		t.Fatalf("%d records", len(got))
	}
	rec := got[0]
	if rec.APIName != "function-url/s" || rec.APIID != "sid" || rec.Status != 200 || rec.Path != "/a/b" || rec.ResponseLen != int64(len("first\nsecond\n")) || rec.Function != "s" {
		t.Errorf("record %+v", rec)
	}
}
