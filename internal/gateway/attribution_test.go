package gateway

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/cors"
	"github.com/portico-dev/portico/internal/edge"
	"github.com/portico-dev/portico/internal/integration"
	"github.com/portico-dev/portico/internal/observe"
	"github.com/portico-dev/portico/internal/observe/accesslog"
	"github.com/portico-dev/portico/internal/observe/console"
	"github.com/portico-dev/portico/internal/observe/live"
	"github.com/portico-dev/portico/internal/observe/metrics"
	"github.com/portico-dev/portico/internal/router"
	"github.com/portico-dev/portico/internal/throttle"
)

// attributionFormat logs every $context variable the refusal paths set.
const attributionFormat = `{"requestId":"$context.requestId","apiId":"$context.apiId","accountId":"$context.accountId",` +
	`"stage":"$context.stage","routeKey":"$context.routeKey","httpMethod":"$context.httpMethod","path":"$context.path",` +
	`"status":"$context.status","errorMessage":"$context.error.message","responseType":"$context.error.responseType",` +
	`"authorizerError":"$context.authorizer.error","integrationError":"$context.integrationErrorMessage",` +
	`"integrationStatus":"$context.integrationStatus","domainName":"$context.domainName"}`

// lines is an io.Writer that hands each written line to a channel.
type lines chan string

func (l lines) Write(p []byte) (int, error) {
	for line := range strings.SplitSeq(strings.TrimRight(string(p), "\n"), "\n") {
		l <- line
	}
	return len(p), nil
}

// testAuthorizer refuses requests without a token (401) and with "deny" (403).
type testAuthorizer struct{}

func (testAuthorizer) Authorize(ctx context.Context, r *integration.Request, scopes []string) (*integration.Authorizer, error) {
	switch r.HTTP.Header.Get("Authorization") {
	case "":
		return nil, edge.New(edge.Unauthorized, errors.New("no token"))
	case "deny":
		return nil, edge.New(edge.Forbidden, errors.New("policy denies"))
	}
	return &integration.Authorizer{PrincipalID: "me"}, nil
}

// refusingLimiter refuses every token of bucket "refused".
type refusingLimiter struct{}

func (refusingLimiter) Take(ctx context.Context, key string, l throttle.Limit) (throttle.Decision, error) {
	return throttle.Decision{Allowed: key != "refused"}, nil
}

// TestRefusalsAreAttributed drives one request through each refusal path
// on a stage with an access log, over a real connection, and checks that
// the access log record, the metrics and the console attribute it alike.
func TestRefusalsAreAttributed(t *testing.T) {
	f, err := accesslog.Compile(attributionFormat)
	if err != nil {
		t.Fatal(err)
	}
	logged := make(lines, 64)
	stageLog := accesslog.NewSink(f, logged, accesslog.Options{})
	t.Cleanup(func() { stageLog.Close() })
	// portico up --access-log: the default record, for every stage.
	df, err := accesslog.Compile("")
	if err != nil {
		t.Fatal(err)
	}
	defaultLogged := make(lines, 64)
	serverLog := accesslog.NewSink(df, defaultLogged, accesslog.Options{})
	t.Cleanup(func() { serverLog.Close() })
	met, lv := metrics.New(), live.New(live.Config{})
	observed := make(chan *observe.Record, 64)
	last := observe.SinkFunc(func(r *observe.Record) { c := *r; observed <- &c })

	policy, err := cors.New(cors.Config{AllowOrigins: []string{"https://app.example"}, AllowMethods: []string{"GET"}})
	if err != nil {
		t.Fatal(err)
	}
	ok := integration.Func(func(ctx context.Context, w http.ResponseWriter, r *integration.Request) error {
		io.WriteString(w, "ok")
		return nil
	})
	a := NewAPI("abc1234567", "shop", "111122223333")
	a.SetCORS(policy)
	limit := throttle.Limit{Rate: 1, Burst: 1}
	if err := a.AddStage("v1", nil, []router.Route[*Route]{
		{Key: "GET /ok", Method: "GET", Path: "/ok", Value: &Route{Key: "GET /ok", Integration: ok}},
		{Key: "POST /upload", Method: "POST", Path: "/upload", Value: &Route{Key: "POST /upload", Integration: ok}},
		{Key: "GET /private", Method: "GET", Path: "/private", Value: &Route{Key: "GET /private", Integration: ok,
			Authorizer: testAuthorizer{}, AuthorizationType: "CUSTOM"}},
		{Key: "GET /busy", Method: "GET", Path: "/busy", Value: &Route{Key: "GET /busy", Integration: ok, Throttle: &limit, ThrottleKey: "refused"}},
		{Key: "GET /broken", Method: "GET", Path: "/broken", Value: &Route{Key: "GET /broken", Integration: integration.Func(
			func(ctx context.Context, w http.ResponseWriter, r *integration.Request) error {
				return edge.New(edge.BadGateway, errors.New("upstream refused the connection"))
			})}},
		{Key: "GET /slow", Method: "GET", Path: "/slow", Value: &Route{Key: "GET /slow", Timeout: 20 * time.Millisecond, Integration: integration.Func(
			func(ctx context.Context, w http.ResponseWriter, r *integration.Request) error {
				<-ctx.Done()
				return edge.New(edge.ServiceUnavailable, fmt.Errorf("integration timeout: %w", ctx.Err()))
			})}},
	}, stageLog); err != nil {
		t.Fatal(err)
	}
	s := New(Deps{Sinks: []observe.Sink{met, lv, serverLog, last}, Limiter: refusingLimiter{},
		Timeouts: Timeouts{Body: 100 * time.Millisecond, BodyMinRate: -1}})
	s.Swap(NewDeployment([]*API{a}))
	addr := serveFramed(t, s, Timeouts{})

	const head = " HTTP/1.1\r\nHost: api.example\r\nConnection: close\r\n"
	tests := []struct {
		name string
		raw  string
		want map[string]string // $context fields of the access log record; nil: none
		// the metric series and console group: API, stage, route
		api, stage, route string
	}{
		{name: "served", raw: "GET /v1/ok" + head + "\r\n",
			want: map[string]string{"status": "200", "routeKey": "GET /ok", "errorMessage": "-", "responseType": "-", "integrationStatus": "200"},
			api:  "shop", stage: "v1", route: "GET /ok"},
		{name: "no route", raw: "GET /v1/nope" + head + "\r\n",
			want: map[string]string{"status": "404", "routeKey": "-", "path": "/v1/nope", "errorMessage": "Not Found", "responseType": "RESOURCE_NOT_FOUND", "integrationStatus": "-"},
			api:  "shop", stage: "v1", route: "-"},
		{name: "method not routed", raw: "DELETE /v1/ok" + head + "\r\n",
			want: map[string]string{"status": "404", "routeKey": "-", "httpMethod": "DELETE", "errorMessage": "Not Found", "responseType": "RESOURCE_NOT_FOUND"},
			api:  "shop", stage: "v1", route: "-"},
		{name: "no stage", raw: "GET /v2/ok" + head + "\r\n",
			api: "shop", stage: "-", route: "-"},
		{name: "CORS preflight from an origin not allowed", raw: "OPTIONS /v1/ok" + head + "Origin: https://evil.example\r\nAccess-Control-Request-Method: GET\r\n\r\n",
			want: map[string]string{"status": "204", "routeKey": "-", "errorMessage": "-"},
			api:  "shop", stage: "v1", route: "-"},
		{name: "413 by content-length", raw: "POST /v1/upload" + head + "Content-Length: 10485761\r\n\r\n",
			want: map[string]string{"status": "413", "routeKey": "-", "errorMessage": "Request Entity Too Large", "responseType": "REQUEST_TOO_LARGE"},
			api:  "shop", stage: "v1", route: "-"},
		{name: "431", raw: "GET /v1/ok" + head + "X-Big: " + strings.Repeat("x", 11000) + "\r\n\r\n",
			want: map[string]string{"status": "431", "routeKey": "-", "errorMessage": "Request Header Fields Too Large", "responseType": "REQUEST_TOO_LARGE"},
			api:  "shop", stage: "v1", route: "-"},
		{name: "ambiguous framing", raw: "POST /v1/upload" + head + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
			want: map[string]string{"status": "400", "routeKey": "-", "errorMessage": "Bad Request", "responseType": "BAD_REQUEST_BODY"},
			api:  "shop", stage: "v1", route: "-"},
		{name: "authorizer 401", raw: "GET /v1/private" + head + "\r\n",
			want: map[string]string{"status": "401", "routeKey": "GET /private", "errorMessage": "Unauthorized", "responseType": "UNAUTHORIZED", "authorizerError": "Unauthorized: no token"},
			api:  "shop", stage: "v1", route: "GET /private"},
		{name: "authorizer 403", raw: "GET /v1/private" + head + "Authorization: deny\r\n\r\n",
			want: map[string]string{"status": "403", "routeKey": "GET /private", "errorMessage": "Forbidden", "responseType": "ACCESS_DENIED", "authorizerError": "Forbidden: policy denies"},
			api:  "shop", stage: "v1", route: "GET /private"},
		{name: "throttled", raw: "GET /v1/busy" + head + "\r\n",
			want: map[string]string{"status": "429", "routeKey": "GET /busy", "errorMessage": "Too Many Requests", "responseType": "THROTTLED"},
			api:  "shop", stage: "v1", route: "GET /busy"},
		{name: "body too slow", raw: "POST /v1/upload" + head + "Content-Length: 10\r\n\r\nabc",
			want: map[string]string{"status": "408", "routeKey": "POST /upload", "errorMessage": "Request Timeout", "responseType": "DEFAULT_4XX"},
			api:  "shop", stage: "v1", route: "POST /upload"},
		{name: "integration error", raw: "GET /v1/broken" + head + "\r\n",
			want: map[string]string{"status": "502", "routeKey": "GET /broken", "errorMessage": "Bad Gateway", "responseType": "INTEGRATION_FAILURE",
				"integrationError": "upstream refused the connection"},
			api: "shop", stage: "v1", route: "GET /broken"},
		{name: "integration timeout", raw: "GET /v1/slow" + head + "\r\n",
			want: map[string]string{"status": "503", "routeKey": "GET /slow", "errorMessage": "Service Unavailable", "responseType": "INTEGRATION_TIMEOUT",
				"integrationError": "integration timeout: context deadline exceeded"},
			api: "shop", stage: "v1", route: "GET /slow"},
	}
	type group struct{ api, stage, route string }
	wantGroups := map[group]int{}
	wantSeries := map[string]int{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status := send(t, addr, tt.raw)
			var rec *observe.Record
			select {
			case rec = <-observed:
			case <-time.After(10 * time.Second):
				t.Fatal("request not observed")
			}
			if rec.Status != status {
				t.Errorf("record status %d, client saw %d", rec.Status, status)
			}
			wantGroups[group{tt.api, tt.stage, tt.route}]++
			select {
			case line := <-defaultLogged:
				var got map[string]any
				if err := json.Unmarshal([]byte(line), &got); err != nil {
					t.Fatalf("default record %q: %v", line, err)
				}
				wantStage := any(tt.stage)
				if tt.stage == "-" {
					wantStage = nil // not applicable: left out of the default record
				}
				if got["routeKey"] != tt.route || got["stage"] != wantStage || got["apiId"] != "abc1234567" {
					t.Errorf("default record %s: want routeKey %q, stage %v", line, tt.route, wantStage)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("no default access log line")
			}
			wantSeries[fmt.Sprintf(`portico_http_requests_total{api=%q,route=%q,stage=%q,status_class="%dxx"}`, tt.api, tt.route, tt.stage, status/100)]++
			if tt.want == nil {
				return // no stage: no stage access log
			}
			var line string
			select {
			case line = <-logged:
			case <-time.After(10 * time.Second):
				t.Fatal("no access log line")
			}
			var got map[string]string
			if err := json.Unmarshal([]byte(line), &got); err != nil {
				t.Fatalf("access log line %q: %v", line, err)
			}
			base := map[string]string{"apiId": "abc1234567", "accountId": "111122223333", "stage": "v1", "domainName": "api.example",
				"requestId": rec.RequestID, "integrationError": "-", "authorizerError": "-"}
			for k, v := range tt.want {
				base[k] = v
			}
			for k, v := range base {
				if got[k] != v {
					t.Errorf("$context.%s = %q, want %q", k, got[k], v)
				}
			}
		})
	}
	select {
	case line := <-logged:
		t.Errorf("unexpected access log line %s", line)
	default:
	}

	// The metrics count each request under the same API, stage and route.
	rr := httptest.NewRecorder()
	met.Handler().ServeHTTP(rr, httptest.NewRequest("GET", "/metrics", nil))
	gotSeries := map[string]int{}
	for line := range strings.SplitSeq(rr.Body.String(), "\n") {
		i := strings.LastIndexByte(line, ' ')
		if i < 0 || !strings.HasPrefix(line, "portico_http_requests_total{") {
			continue
		}
		if n, _ := strconv.Atoi(line[i+1:]); n > 0 {
			gotSeries[line[:i]] = n
		}
	}
	if fmt.Sprint(gotSeries) != fmt.Sprint(wantSeries) {
		t.Errorf("metric series:\n got %v\nwant %v", gotSeries, wantSeries)
	}

	// The console groups them alike.
	c, err := console.New(console.Config{Live: lv})
	if err != nil {
		t.Fatal(err)
	}
	rr = httptest.NewRecorder()
	c.ServeHTTP(rr, httptest.NewRequest("GET", "/live.json", nil))
	var lj struct {
		Routes []struct {
			API, Stage, Route string
			Requests          []int
		}
	}
	if err := json.Unmarshal(rr.Body.Bytes(), &lj); err != nil {
		t.Fatal(err)
	}
	gotGroups := map[group]int{}
	for _, r := range lj.Routes {
		for _, n := range r.Requests {
			gotGroups[group{r.API, r.Stage, r.Route}] += n
		}
	}
	if fmt.Sprint(gotGroups) != fmt.Sprint(wantGroups) {
		t.Errorf("console groups:\n got %v\nwant %v", gotGroups, wantGroups)
	}
}

// send writes raw on a new connection and returns the response's status.
func send(t *testing.T, addr, raw string) int {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
