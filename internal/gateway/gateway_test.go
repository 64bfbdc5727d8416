package gateway

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/cors"
	"github.com/portico-dev/portico/internal/edge"
	"github.com/portico-dev/portico/internal/integration"
	"github.com/portico-dev/portico/internal/observe"
	"github.com/portico-dev/portico/internal/router"
	"github.com/portico-dev/portico/internal/throttle"
)

// echo is an integration that reports what the gateway handed it.
func echo(name string) integration.Integration {
	return integration.Func(func(ctx context.Context, w http.ResponseWriter, r *integration.Request) error {
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, name+" "+r.RouteKey+" stage="+r.Stage+" path="+r.Path+" raw="+r.RawPath+" params="+r.PathParameters["id"]+" body="+string(r.Body))
		return nil
	})
}

func route(key, method, path string, it integration.Integration) router.Route[*Route] {
	return router.Route[*Route]{Key: key, Method: method, Path: path, Value: &Route{Key: key, Integration: it}}
}

func testDeployment(t *testing.T) *Deployment {
	t.Helper()
	a := NewAPI("abc1234567", "shop", "000000000000")
	routes := []router.Route[*Route]{
		route("GET /", "GET", "/", echo("root")),
		route("GET /items/{id}", "GET", "/items/{id}", echo("item")),
		route("POST /items", "POST", "/items", echo("post")),
		route("GET /panic", "GET", "/panic", integration.Func(func(context.Context, http.ResponseWriter, *integration.Request) error { panic("boom") })),
		route("GET /fail", "GET", "/fail", integration.Func(func(context.Context, http.ResponseWriter, *integration.Request) error {
			return edge.New(edge.ServiceUnavailable, errors.New("upstream slow"))
		})),
		route("GET /plain-error", "GET", "/plain-error", integration.Func(func(context.Context, http.ResponseWriter, *integration.Request) error {
			return errors.New("something internal")
		})),
	}
	if err := a.AddStage("v1", map[string]string{"tier": "free"}, routes); err != nil {
		t.Fatal(err)
	}
	if err := a.AddStage("$default", nil, []router.Route[*Route]{route("$default", "", "", echo("default"))}); err != nil {
		t.Fatal(err)
	}
	return NewDeployment([]*API{a})
}

func TestPipeline(t *testing.T) {
	s := New(Deps{})
	s.Swap(testDeployment(t))
	tests := []struct {
		name       string
		method     string
		target     string
		body       string
		header     map[string]string
		wantStatus int
		wantBody   string
	}{
		{name: "stage root", method: "GET", target: "/v1", wantStatus: 200, wantBody: "root GET / stage=v1 path=/ raw=/v1 params= body="},
		{name: "stage root slash", method: "GET", target: "/v1/", wantStatus: 200, wantBody: "root GET / stage=v1 path=/ raw=/v1/ params= body="},
		{name: "path parameter", method: "GET", target: "/v1/items/42?x=1", wantStatus: 200, wantBody: "item GET /items/{id} stage=v1 path=/items/42 raw=/v1/items/42 params=42 body="},
		{name: "decoded parameter", method: "GET", target: "/v1/items/a%20b", wantStatus: 200, wantBody: "item GET /items/{id} stage=v1 path=/items/a%20b raw=/v1/items/a%20b params=a b body="},
		{name: "body", method: "POST", target: "/v1/items", body: "hello", wantStatus: 200, wantBody: "post POST /items stage=v1 path=/items raw=/v1/items params= body=hello"},
		{name: "no route in stage", method: "GET", target: "/v1/nope", wantStatus: 404, wantBody: `{"message":"Not Found"}`},
		{name: "method not routed", method: "DELETE", target: "/v1/items/1", wantStatus: 404, wantBody: `{"message":"Not Found"}`},
		{name: "default stage", method: "GET", target: "/other/path", wantStatus: 200, wantBody: "default $default stage=$default path=/other/path raw=/other/path params= body="},
		{name: "$default is not a path prefix", method: "GET", target: "/$default/x", wantStatus: 200, wantBody: "default $default stage=$default path=/$default/x raw=/$default/x params= body="},
		{name: "panic is a 500", method: "GET", target: "/v1/panic", wantStatus: 500, wantBody: `{"message":"Internal Server Error"}`},
		{name: "edge error rendered", method: "GET", target: "/v1/fail", wantStatus: 503, wantBody: `{"message":"Service Unavailable"}`},
		{name: "plain error is a 500", method: "GET", target: "/v1/plain-error", wantStatus: 500, wantBody: `{"message":"Internal Server Error"}`},
		{name: "headers too large", method: "GET", target: "/v1/", header: map[string]string{"X-Big": strings.Repeat("a", 10300)}, wantStatus: 431, wantBody: `{"message":"Request Header Fields Too Large"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(tt.method, tt.target, strings.NewReader(tt.body))
			for k, v := range tt.header {
				req.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, req)
			if rec.Code != tt.wantStatus || rec.Body.String() != tt.wantBody {
				t.Errorf("got %d %q, want %d %q", rec.Code, rec.Body.String(), tt.wantStatus, tt.wantBody)
			}
			if id := rec.Header().Get("apigw-requestid"); len(id) != 16 {
				t.Errorf("apigw-requestid %q", id)
			}
			if tt.wantStatus >= 400 && rec.Header().Get("Content-Type") != "application/json" {
				t.Errorf("error content-type %q", rec.Header().Get("Content-Type"))
			}
		})
	}
}

func TestBodyLimit(t *testing.T) {
	s := New(Deps{})
	s.Swap(testDeployment(t))
	tests := []struct {
		name       string
		size       int
		chunked    bool
		wantStatus int
	}{
		{name: "at the limit", size: MaxBodyBytes, wantStatus: 200},
		{name: "over the limit", size: MaxBodyBytes + 1, wantStatus: 413},
		{name: "over the limit, chunked", size: MaxBodyBytes + 1, chunked: true, wantStatus: 413},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var body io.Reader = strings.NewReader(strings.Repeat("x", tt.size))
			if tt.chunked {
				body = io.MultiReader(body) // hides the length
			}
			req := httptest.NewRequest("POST", "/v1/items", body)
			if tt.chunked {
				req.ContentLength = -1
			}
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, req)
			if rec.Code != tt.wantStatus {
				t.Errorf("got %d, want %d", rec.Code, tt.wantStatus)
			}
			if tt.wantStatus == 413 && rec.Body.String() != `{"message":"Request Entity Too Large"}` {
				t.Errorf("body %q", rec.Body.String())
			}
		})
	}
}

func TestHostSelectsAPI(t *testing.T) {
	mk := func(id, name string) *API {
		a := NewAPI(id, name, "000000000000")
		if err := a.AddStage("$default", nil, []router.Route[*Route]{route("GET /", "GET", "/", echo(name))}); err != nil {
			t.Fatal(err)
		}
		return a
	}
	s := New(Deps{})
	s.Swap(NewDeployment([]*API{mk("aaaaaaaaaa", "first"), mk("bbbbbbbbbb", "second")}))
	tests := []struct {
		host, want string
		status     int
	}{
		{"aaaaaaaaaa.execute-api.localhost:8080", "first", 200},
		{"BBBBBBBBBB.execute-api.localhost", "second", 200},
		{"second.localhost:8080", "second", 200},
		{"127.0.0.1:8080", "", 404},
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			req := httptest.NewRequest("GET", "/", nil)
			req.Host = tt.host
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, req)
			if rec.Code != tt.status || (tt.want != "" && !strings.HasPrefix(rec.Body.String(), tt.want+" ")) {
				t.Errorf("got %d %q", rec.Code, rec.Body.String())
			}
		})
	}
}

func TestTimeoutAppliedOnce(t *testing.T) {
	a := NewAPI("abc1234567", "t", "000000000000")
	var deadline atomic.Int64
	it := integration.Func(func(ctx context.Context, w http.ResponseWriter, r *integration.Request) error {
		d, _ := ctx.Deadline()
		deadline.Store(int64(time.Until(d)))
		return nil
	})
	rt := router.Route[*Route]{Key: "GET /", Method: "GET", Path: "/", Value: &Route{Key: "GET /", Integration: it, Timeout: 2 * time.Second}}
	if err := a.AddStage("$default", nil, []router.Route[*Route]{rt}); err != nil {
		t.Fatal(err)
	}
	s := New(Deps{})
	s.Swap(NewDeployment([]*API{a}))
	s.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	if d := time.Duration(deadline.Load()); d <= time.Second || d > 2*time.Second {
		t.Errorf("integration saw a deadline %v away, want about 2s", d)
	}
}

// TestSwapDrains checks that a retired deployment runs its closers only
// after its last request finished.
func TestSwapDrains(t *testing.T) {
	release := make(chan struct{})
	started := make(chan struct{})
	var closed atomic.Bool
	a := NewAPI("abc1234567", "t", "000000000000")
	slow := integration.Func(func(ctx context.Context, w http.ResponseWriter, r *integration.Request) error {
		close(started)
		<-release
		io.WriteString(w, "old")
		return nil
	})
	if err := a.AddStage("$default", nil, []router.Route[*Route]{route("GET /", "GET", "/", slow)}); err != nil {
		t.Fatal(err)
	}
	s := New(Deps{})
	old := NewDeployment([]*API{a}, func() { closed.Store(true) })
	s.Swap(old)

	done := make(chan string)
	go func() {
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
		done <- rec.Body.String()
	}()
	<-started
	s.Swap(testDeployment(t))
	if closed.Load() {
		t.Fatal("old deployment closed while a request was in flight")
	}
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest("GET", "/v1/", nil))
	if !strings.HasPrefix(rec.Body.String(), "root") {
		t.Errorf("new deployment not served: %q", rec.Body.String())
	}
	close(release)
	if got := <-done; got != "old" {
		t.Errorf("in-flight request got %q", got)
	}
	if !closed.Load() || !old.Drained() {
		t.Error("old deployment not closed after its last request")
	}
}

func BenchmarkPipeline(b *testing.B) {
	s := New(Deps{})
	a := NewAPI("abc1234567", "b", "000000000000")
	ok := integration.Func(func(ctx context.Context, w http.ResponseWriter, r *integration.Request) error {
		w.WriteHeader(200)
		return nil
	})
	if err := a.AddStage("v1", nil, []router.Route[*Route]{route("GET /items/{id}", "GET", "/items/{id}", ok)}); err != nil {
		b.Fatal(err)
	}
	s.Swap(NewDeployment([]*API{a}))
	req := httptest.NewRequest("GET", "/v1/items/42", nil)
	b.ReportAllocs()
	for b.Loop() {
		s.ServeHTTP(discard{h: http.Header{}}, req)
	}
}

type discard struct{ h http.Header }

func (d discard) Header() http.Header         { return d.h }
func (d discard) Write(p []byte) (int, error) { return len(p), nil }
func (d discard) WriteHeader(int)             {}

func TestCORS(t *testing.T) {
	maxAge := 600
	policy, err := cors.New(cors.Config{AllowOrigins: []string{"https://app.example"}, AllowMethods: []string{"GET", "POST"},
		AllowHeaders: []string{"content-type"}, MaxAge: &maxAge})
	if err != nil {
		t.Fatal(err)
	}
	backendCORS := integration.Func(func(ctx context.Context, w http.ResponseWriter, r *integration.Request) error {
		w.Header().Set("Access-Control-Allow-Origin", "*") // replaced by the gateway
		io.WriteString(w, "ok")
		return nil
	})
	a := NewAPI("abc1234567", "c", "000000000000")
	a.SetCORS(policy)
	if err := a.AddStage("$default", nil, []router.Route[*Route]{
		route("GET /items", "GET", "/items", backendCORS),
		route("ANY /any/{proxy+}", "ANY", "/any/{proxy+}", echo("any")),
	}); err != nil {
		t.Fatal(err)
	}
	s := New(Deps{})
	s.Swap(NewDeployment([]*API{a}))

	tests := []struct {
		name       string
		method     string
		target     string
		header     map[string]string
		wantStatus int
		wantHeader map[string]string // "" means absent
	}{
		{name: "preflight answered by the gateway", method: "OPTIONS", target: "/items",
			header:     map[string]string{"Origin": "https://app.example", "Access-Control-Request-Method": "POST"},
			wantStatus: 204, wantHeader: map[string]string{"Access-Control-Allow-Origin": "https://app.example", "Access-Control-Allow-Methods": "GET,POST", "Access-Control-Max-Age": "600"}},
		{name: "preflight from another origin", method: "OPTIONS", target: "/items",
			header:     map[string]string{"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
			wantStatus: 204, wantHeader: map[string]string{"Access-Control-Allow-Origin": ""}},
		{name: "preflight taken by an ANY route", method: "OPTIONS", target: "/any/x",
			header:     map[string]string{"Origin": "https://app.example", "Access-Control-Request-Method": "GET"},
			wantStatus: 200, wantHeader: map[string]string{"Access-Control-Allow-Origin": "https://app.example", "Access-Control-Allow-Methods": ""}},
		{name: "backend CORS headers replaced", method: "GET", target: "/items",
			header:     map[string]string{"Origin": "https://app.example"},
			wantStatus: 200, wantHeader: map[string]string{"Access-Control-Allow-Origin": "https://app.example", "Vary": "Origin"}},
		{name: "backend CORS headers dropped for a foreign origin", method: "GET", target: "/items",
			header:     map[string]string{"Origin": "https://evil.example"},
			wantStatus: 200, wantHeader: map[string]string{"Access-Control-Allow-Origin": ""}},
		{name: "gateway errors carry CORS headers", method: "GET", target: "/nope",
			header:     map[string]string{"Origin": "https://app.example"},
			wantStatus: 404, wantHeader: map[string]string{"Access-Control-Allow-Origin": "https://app.example"}},
		{name: "OPTIONS without CORS request headers is routed", method: "OPTIONS", target: "/items",
			wantStatus: 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(tt.method, tt.target, nil)
			for k, v := range tt.header {
				req.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, req)
			if rec.Code != tt.wantStatus {
				t.Errorf("status %d, want %d (%s)", rec.Code, tt.wantStatus, rec.Body.String())
			}
			for k, want := range tt.wantHeader {
				if got := rec.Header().Get(k); got != want {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
		})
	}
}

type authFunc func(ctx context.Context, r *integration.Request, scopes []string) (*integration.Authorizer, error)

func (f authFunc) Authorize(ctx context.Context, r *integration.Request, scopes []string) (*integration.Authorizer, error) {
	return f(ctx, r, scopes)
}

type keyFunc func(ctx context.Context, value, apiStage string) (string, error)

func (f keyFunc) Check(ctx context.Context, value, apiStage string) (string, error) {
	return f(ctx, value, apiStage)
}

// TestAccessControl checks the pipeline's order: authorize (before the
// body is read, unless the authorizer needs it), then API keys and
// throttles, then the integration.
func TestAccessControl(t *testing.T) {
	var sawBody atomic.Value
	auth := authFunc(func(ctx context.Context, r *integration.Request, scopes []string) (*integration.Authorizer, error) {
		sawBody.Store(string(r.Body))
		switch r.HTTP.Header.Get("Authorization") {
		case "good":
			return &integration.Authorizer{Lambda: map[string]any{"user": "u1", "scopes": strings.Join(scopes, " ")}}, nil
		case "":
			return nil, edge.New(edge.Unauthorized, errors.New("no token"))
		}
		return nil, edge.New(edge.Forbidden, errors.New("denied"))
	})
	whoami := integration.Func(func(ctx context.Context, w http.ResponseWriter, r *integration.Request) error {
		if r.Authorizer != nil {
			io.WriteString(w, r.Authorizer.Lambda["user"].(string)+" "+r.Authorizer.Lambda["scopes"].(string))
		}
		io.WriteString(w, "|"+string(r.Body))
		return nil
	})
	keys := keyFunc(func(ctx context.Context, value, apiStage string) (string, error) {
		if value != "k1" || apiStage != "acl/$default" {
			return "", edge.New(edge.Forbidden, errors.New("bad key"))
		}
		return "key-one", nil
	})
	now := time.Unix(1_700_000_000, 0)
	limiter := throttle.NewLocal(func() time.Time { return now })

	a := NewAPI("abc1234567", "acl", "000000000000")
	rts := []router.Route[*Route]{
		{Key: "POST /auth", Method: "POST", Path: "/auth", Value: &Route{Key: "POST /auth", Integration: whoami, Authorizer: auth, Scopes: []string{"read"}}},
		{Key: "POST /signed", Method: "POST", Path: "/signed", Value: &Route{Key: "POST /signed", Integration: whoami, Authorizer: auth, AuthorizerNeedsBody: true}},
		{Key: "GET /keyed", Method: "GET", Path: "/keyed", Value: &Route{Key: "GET /keyed", Integration: whoami, APIKeyRequired: true}},
		{Key: "GET /limited", Method: "GET", Path: "/limited", Value: &Route{Key: "GET /limited", Integration: whoami,
			Throttle: &throttle.Limit{Rate: 1, Burst: 2}, ThrottleKey: "route:acl/$default/GET /limited"}},
	}
	if err := a.AddStage("$default", nil, rts); err != nil {
		t.Fatal(err)
	}
	s := New(Deps{Limiter: limiter, APIKeys: keys})
	s.Swap(NewDeployment([]*API{a}))

	tests := []struct {
		name, method, target, body string
		header                     map[string]string
		wantStatus                 int
		wantBody                   string
		wantAuthSawBody            string
	}{
		{name: "authorized", method: "POST", target: "/auth", body: "hi", header: map[string]string{"Authorization": "good"}, wantStatus: 200, wantBody: "u1 read|hi"},
		{name: "no token", method: "POST", target: "/auth", body: "hi", wantStatus: 401, wantBody: `{"message":"Unauthorized"}`},
		{name: "denied", method: "POST", target: "/auth", body: "hi", header: map[string]string{"Authorization": "bad"}, wantStatus: 403, wantBody: `{"message":"Forbidden"}`},
		{name: "signature sees the body", method: "POST", target: "/signed", body: "payload", header: map[string]string{"Authorization": "good"}, wantStatus: 200, wantBody: "u1 |payload", wantAuthSawBody: "payload"},
		{name: "api key missing", method: "GET", target: "/keyed", wantStatus: 403, wantBody: `{"message":"Forbidden"}`},
		{name: "api key good", method: "GET", target: "/keyed", header: map[string]string{"X-Api-Key": "k1"}, wantStatus: 200, wantBody: "|"},
		{name: "within burst 1", method: "GET", target: "/limited", wantStatus: 200, wantBody: "|"},
		{name: "within burst 2", method: "GET", target: "/limited", wantStatus: 200, wantBody: "|"},
		{name: "throttled", method: "GET", target: "/limited", wantStatus: 429, wantBody: `{"message":"Too Many Requests"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sawBody.Store("")
			req := httptest.NewRequest(tt.method, tt.target, strings.NewReader(tt.body))
			for k, v := range tt.header {
				req.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, req)
			if rec.Code != tt.wantStatus || rec.Body.String() != tt.wantBody {
				t.Errorf("got %d %q, want %d %q", rec.Code, rec.Body.String(), tt.wantStatus, tt.wantBody)
			}
			if got := sawBody.Load().(string); got != tt.wantAuthSawBody {
				t.Errorf("authorizer saw body %q, want %q", got, tt.wantAuthSawBody)
			}
			if tt.wantStatus == 429 && rec.Header().Get("Retry-After") != "" {
				t.Errorf("API Gateway's 429 carries no Retry-After")
			}
		})
	}
}

// TestRecords checks what sinks receive: one Record per request, filled
// from every step, to the server's sinks and to the stage's.
func TestRecords(t *testing.T) {
	var mu sync.Mutex
	var global, staged []observe.Record
	sink := func(into *[]observe.Record) observe.Sink {
		return observe.SinkFunc(func(r *observe.Record) { mu.Lock(); *into = append(*into, *r); mu.Unlock() })
	}
	auth := authFunc(func(ctx context.Context, r *integration.Request, scopes []string) (*integration.Authorizer, error) {
		if r.HTTP.Header.Get("Authorization") == "" {
			return nil, edge.New(edge.Unauthorized, errors.New("no token"))
		}
		return &integration.Authorizer{PrincipalID: "p1"}, nil
	})
	keys := keyFunc(func(ctx context.Context, value, apiStage string) (string, error) { return "alice", nil })
	a := NewAPI("abc1234567", "obs", "000000000000")
	rts := []router.Route[*Route]{
		{Key: "POST /items/{id}", Method: "POST", Path: "/items/{id}", Value: &Route{Key: "POST /items/{id}", Integration: echo("x"), Authorizer: auth, APIKeyRequired: true, Function: "fn"}},
	}
	if err := a.AddStage("v1", nil, rts, sink(&staged)); err != nil {
		t.Fatal(err)
	}
	s := New(Deps{Sinks: []observe.Sink{sink(&global)}, APIKeys: keys})
	s.Swap(NewDeployment([]*API{a}))

	req := httptest.NewRequest("POST", "/v1/items/7", strings.NewReader("body"))
	req.Header.Set("Authorization", "t")
	req.Header.Set("User-Agent", "test/1")
	s.ServeHTTP(httptest.NewRecorder(), req)
	s.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("POST", "/v1/items/7", nil))
	s.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/v1/nope", nil))

	if len(global) != 3 || len(staged) != 3 {
		t.Fatalf("global %d, staged %d records; want 3 each", len(global), len(staged))
	}
	ok, denied, missing := global[0], global[1], global[2]
	if ok.Status != 200 || ok.RouteKey != "POST /items/{id}" || ok.Stage != "v1" || ok.APIName != "obs" || ok.Path != "/v1/items/7" ||
		ok.HTTPMethod != "POST" || ok.RequestLen != 4 || ok.ResponseLen == 0 || ok.UserAgent != "test/1" || ok.APIKeyID != "alice" ||
		ok.PrincipalID != "p1" || ok.Function != "fn" || ok.IntegrationStatus != 200 || ok.ResponseLatency <= 0 || ok.RequestID == "" || ok.ErrorType != "" {
		t.Errorf("success record: %+v", ok)
	}
	if denied.Status != 401 || denied.ErrorType != "UNAUTHORIZED" || denied.ErrorMessage != "Unauthorized" || denied.AuthorizerError == "" || denied.IntegrationLatency != 0 {
		t.Errorf("refused record: %+v", denied)
	}
	if missing.Status != 404 || missing.ErrorType != "RESOURCE_NOT_FOUND" || missing.RouteKey != "-" || missing.Stage != "v1" || missing.APIID != "abc1234567" {
		t.Errorf("not found record: %+v", missing)
	}
}
