package websocket

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/coder/websocket"

	"github.com/portico-dev/portico/internal/iam"
	"github.com/portico-dev/portico/internal/invocation"
	"github.com/portico-dev/portico/internal/s3"
	"github.com/portico-dev/portico/internal/sigv4"
	"github.com/portico-dev/portico/internal/throttle"
)

var update = flag.Bool("update", false, "rewrite golden files")

// fakeInvoker records every event and answers with reply.
type fakeInvoker struct {
	mu     sync.Mutex
	events chan *Event
	reply  func(ev *Event) (*invocation.Result, error)
}

func (f *fakeInvoker) Invoke(ctx context.Context, req *invocation.Request) (*invocation.Result, error) {
	var ev Event
	if err := json.Unmarshal(req.Payload, &ev); err != nil {
		return nil, err
	}
	f.events <- &ev
	if f.reply != nil {
		return f.reply(&ev)
	}
	return &invocation.Result{Payload: []byte(`{"statusCode":200}`)}, nil
}

const (
	region  = "us-east-1"
	account = "000000000000"
)

var (
	adminKey = sigv4.Credentials{AccessKeyID: "AKIAADMIN0000000", SecretAccessKey: "admin-secret"}
	fnKey    = sigv4.Credentials{AccessKeyID: "AKIAFUNCTION0000", SecretAccessKey: "fn-secret"}
	otherKey = sigv4.Credentials{AccessKeyID: "AKIAOTHER0000000", SecretAccessKey: "other-secret"}
)

func principals(t testing.TB) s3.Principals {
	allow, err := iam.ParsePolicy(map[string]any{"Version": "2012-10-17", "Statement": map[string]any{
		"Effect": "Allow", "Action": "execute-api:ManageConnections", "Resource": "arn:aws:execute-api:us-east-1:000000000000:abc123/dev/POST/@connections/*"}})
	if err != nil {
		t.Fatal(err)
	}
	return s3.PrincipalsFunc(func(id string) (*s3.Principal, bool) {
		switch id {
		case adminKey.AccessKeyID:
			return &s3.Principal{Name: "admin", Credentials: adminKey, Admin: true}, true
		case fnKey.AccessKeyID:
			return &s3.Principal{Name: "function/chat", Credentials: fnKey, Policies: []*iam.Policy{allow}}, true
		case otherKey.AccessKeyID:
			return &s3.Principal{Name: "accessKey/other", Credentials: otherKey}, true
		}
		return nil, false
	})
}

type harness struct {
	srv *httptest.Server
	inv *fakeInvoker
	reg *Registry
}

func newHarness(t *testing.T, limits Limits, reply func(*Event) (*invocation.Result, error)) *harness {
	t.Helper()
	inv := &fakeInvoker{events: make(chan *Event, 64), reply: reply}
	reg := &Registry{}
	routes := map[string]*Route{}
	for _, k := range []string{"$connect", "$disconnect", "$default", "echo", "quiet"} {
		routes[k] = &Route{Key: k, Function: "chat", Timeout: 5 * time.Second, TwoWay: k == "echo" || k == "$default"}
	}
	h, err := New(Config{APIID: "abc123", APIName: "chat", Region: region, AccountID: account, RouteSelection: []string{"action"},
		Stages: map[string]*Stage{
			"dev":  {Name: "dev", Routes: routes, Variables: map[string]string{"model": "tiny"}},
			"bare": {Name: "bare", Routes: map[string]*Route{"quiet": routes["quiet"]}},
		}, Limits: limits},
		Deps{Invoker: inv, Registry: reg, Principals: principals(t)})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &harness{srv: srv, inv: inv, reg: reg}
}

func (h *harness) url(path string) string { return "ws" + strings.TrimPrefix(h.srv.URL, "http") + path }

func (h *harness) next(t *testing.T) *Event {
	t.Helper()
	select {
	case ev := <-h.inv.events:
		return ev
	case <-time.After(10 * time.Second):
		t.Fatal("no event")
		return nil
	}
}

func dial(t *testing.T, url string) *websocket.Conn {
	t.Helper()
	c, _, err := websocket.Dial(context.Background(), url, &websocket.DialOptions{HTTPHeader: http.Header{"User-Agent": {"portico-test"}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.CloseNow() })
	return c
}

func read(t *testing.T, c *websocket.Conn) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, b, err := c.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func write(t *testing.T, c *websocket.Conn, s string) {
	t.Helper()
	if err := c.Write(context.Background(), websocket.MessageText, []byte(s)); err != nil {
		t.Fatal(err)
	}
}

// normalize replaces what changes from run to run in an event.
func normalize(t *testing.T, ev *Event) []byte {
	b, err := json.MarshalIndent(ev, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	for _, re := range []struct{ re, with string }{
		{`"[A-Za-z0-9_-]{15}="`, `"ID="`},
		{`127\.0\.0\.1:\d+`, `127.0.0.1:PORT`},
		{`"(connectedAt|requestTimeEpoch)": \d+`, `"$1": 0`},
		{`"requestTime": "[^"]+"`, `"requestTime": "TIME"`},
		{`"Sec-Websocket-Key": (\[\s*)?"[^"]+"`, `"Sec-Websocket-Key": ${1}"KEY"`},
		{`"X-Forwarded-Port": (\[\s*)?"\d+"`, `"X-Forwarded-Port": ${1}"PORT"`},
	} {
		b = regexp.MustCompile(re.re).ReplaceAll(b, []byte(re.with))
	}
	return append(b, '\n')
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	file := filepath.Join("testdata", name)
	if *update {
		os.MkdirAll("testdata", 0o755)
		if err := os.WriteFile(file, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs:\n%s\nwant:\n%s", file, got, want)
	}
}

// TestEvents checks every field of the three events against golden files
// and that the ids tie them together.
func TestEvents(t *testing.T) {
	h := newHarness(t, Limits{}, nil)
	c := dial(t, h.url("/dev?room=a&room=b&user=ann"))
	connect := h.next(t)
	write(t, c, `{"action":"quiet","text":"hi"}`)
	msg := h.next(t)
	c.Write(context.Background(), websocket.MessageBinary, []byte{0, 1, 2})
	bin := h.next(t)
	c.Close(websocket.StatusNormalClosure, "bye")
	disc := h.next(t)

	golden(t, "connect.json", normalize(t, connect))
	golden(t, "message.json", normalize(t, msg))
	golden(t, "binary.json", normalize(t, bin))
	golden(t, "disconnect.json", normalize(t, disc))
	id := connect.RequestContext.ConnectionID
	for _, ev := range []*Event{msg, bin, disc} {
		if ev.RequestContext.ConnectionID != id || ev.RequestContext.ConnectedAt != connect.RequestContext.ConnectedAt {
			t.Errorf("%s: connectionId/connectedAt %s/%d, want %s/%d", ev.RequestContext.EventType,
				ev.RequestContext.ConnectionID, ev.RequestContext.ConnectedAt, id, connect.RequestContext.ConnectedAt)
		}
	}
	if msg.RequestContext.MessageID == "" || msg.RequestContext.MessageID == bin.RequestContext.MessageID {
		t.Errorf("messageIds %q, %q: want distinct", msg.RequestContext.MessageID, bin.RequestContext.MessageID)
	}
}

func TestRouting(t *testing.T) {
	h := newHarness(t, Limits{}, func(ev *Event) (*invocation.Result, error) {
		if ev.Body != nil && strings.Contains(*ev.Body, "fail") {
			return &invocation.Result{FunctionError: "Unhandled", Payload: []byte(`{"errorMessage":"boom"}`)}, nil
		}
		return &invocation.Result{Payload: []byte(`{"statusCode":200,"body":"route ` + ev.RequestContext.RouteKey + `"}`)}, nil
	})
	c := dial(t, h.url("/dev"))
	h.next(t)
	tests := []struct{ name, send, route, want string }{
		{"custom two-way", `{"action":"echo"}`, "echo", "route echo"},
		{"unknown key to $default", `{"action":"nope"}`, "$default", "route $default"},
		{"not JSON to $default", `hello`, "$default", "route $default"},
		{"number to $default", `{"action":7}`, "$default", "route $default"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			write(t, c, tt.send)
			if ev := h.next(t); ev.RequestContext.RouteKey != tt.route {
				t.Errorf("routeKey %q, want %q", ev.RequestContext.RouteKey, tt.route)
			}
			if got := read(t, c); got != tt.want {
				t.Errorf("reply %q, want %q", got, tt.want)
			}
		})
	}
	t.Run("one-way route answers nothing", func(t *testing.T) {
		write(t, c, `{"action":"quiet"}`)
		h.next(t)
		write(t, c, `{"action":"echo"}`)
		h.next(t)
		if got := read(t, c); got != "route echo" {
			t.Errorf("reply %q, want the echo only", got)
		}
	})
	t.Run("function error", func(t *testing.T) {
		write(t, c, `{"action":"echo","x":"fail"}`)
		h.next(t)
		var got map[string]string
		json.Unmarshal([]byte(read(t, c)), &got)
		if got["message"] != "Internal server error" || got["connectionId"] == "" || got["requestId"] == "" {
			t.Errorf("reply %v", got)
		}
	})
	t.Run("no route and no $default", func(t *testing.T) {
		b := dial(t, h.url("/bare"))
		write(t, b, `{"action":"other"}`)
		var got map[string]string
		json.Unmarshal([]byte(read(t, b)), &got)
		if got["message"] != "Forbidden" {
			t.Errorf("reply %v", got)
		}
	})
}

func TestConnectRefused(t *testing.T) {
	tests := []struct {
		name   string
		reply  string
		fnErr  bool
		status int
	}{
		{"403 from the function", `{"statusCode":403,"body":"no"}`, false, 403},
		{"401", `{"statusCode":401}`, false, 401},
		{"function error", `{"errorMessage":"boom"}`, true, 500},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, Limits{}, func(ev *Event) (*invocation.Result, error) {
				r := &invocation.Result{Payload: []byte(tt.reply)}
				if tt.fnErr {
					r.FunctionError = "Unhandled"
				}
				return r, nil
			})
			_, resp, err := websocket.Dial(context.Background(), h.url("/dev"), nil)
			if err == nil {
				t.Fatal("connected")
			}
			if resp == nil || resp.StatusCode != tt.status {
				t.Fatalf("response %v, want status %d", resp, tt.status)
			}
			h.next(t) // $connect ran; no $disconnect follows a refusal
			if h.reg.Len() != 0 {
				t.Errorf("%d connections registered", h.reg.Len())
			}
		})
	}
	t.Run("not an upgrade", func(t *testing.T) {
		h := newHarness(t, Limits{}, nil)
		resp, err := http.Get(h.srv.URL + "/dev")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUpgradeRequired {
			t.Errorf("status %d, want 426", resp.StatusCode)
		}
	})
}

func TestLimits(t *testing.T) {
	t.Run("message too big closes with 1009", func(t *testing.T) {
		h := newHarness(t, Limits{MaxMessageBytes: 1024}, nil)
		c := dial(t, h.url("/dev"))
		h.next(t)
		c.Write(context.Background(), websocket.MessageText, bytes.Repeat([]byte("x"), 2048))
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, _, err := c.Read(ctx)
		if got := websocket.CloseStatus(err); got != websocket.StatusMessageTooBig {
			t.Errorf("close status %v (%v), want 1009", got, err)
		}
		ev := h.next(t)
		if ev.RequestContext.EventType != EventDisconnect || *ev.RequestContext.DisconnectStatusCode != 1009 {
			t.Errorf("event %+v", ev.RequestContext)
		}
	})
	t.Run("idle timeout closes with 1001", func(t *testing.T) {
		h := newHarness(t, Limits{IdleTimeout: 200 * time.Millisecond}, nil)
		c := dial(t, h.url("/dev"))
		h.next(t)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, _, err := c.Read(ctx)
		if got := websocket.CloseStatus(err); got != websocket.StatusGoingAway {
			t.Errorf("close status %v (%v), want 1001", got, err)
		}
		ev := h.next(t)
		if *ev.RequestContext.DisconnectStatusCode != 1001 || *ev.RequestContext.DisconnectReason != "Going away" {
			t.Errorf("disconnect %d %q", *ev.RequestContext.DisconnectStatusCode, *ev.RequestContext.DisconnectReason)
		}
	})
	t.Run("maximum duration closes with 1001", func(t *testing.T) {
		h := newHarness(t, Limits{MaxDuration: 200 * time.Millisecond}, nil)
		c := dial(t, h.url("/dev"))
		h.next(t)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, _, err := c.Read(ctx)
		if got := websocket.CloseStatus(err); got != websocket.StatusGoingAway {
			t.Errorf("close status %v (%v), want 1001", got, err)
		}
	})
}

// call makes an @connections request signed with creds (none when nil).
func call(t *testing.T, h *harness, creds *sigv4.Credentials, method, path, body string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(method, h.srv.URL+path, strings.NewReader(body))
	if creds != nil {
		sum := sha256.Sum256([]byte(body))
		err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: creds.AccessKeyID, SecretAccessKey: creds.SecretAccessKey},
			req, hex.EncodeToString(sum[:]), ManageService, region, time.Now())
		if err != nil {
			t.Fatal(err)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(resp.Body)
	return resp, b.String()
}

func TestConnections(t *testing.T) {
	h := newHarness(t, Limits{}, nil)
	c := dial(t, h.url("/dev"))
	id := h.next(t).RequestContext.ConnectionID
	path := "/dev/@connections/" + id

	tests := []struct {
		name     string
		creds    *sigv4.Credentials
		method   string
		path     string
		status   int
		errType  string
		received string
	}{
		{"unsigned", nil, "POST", path, 403, "MissingAuthenticationTokenException", ""},
		{"unknown key", &sigv4.Credentials{AccessKeyID: "AKIANOBODY000000", SecretAccessKey: "x"}, "POST", path, 403, "InvalidSignatureException", ""},
		{"wrong secret", &sigv4.Credentials{AccessKeyID: adminKey.AccessKeyID, SecretAccessKey: "wrong"}, "POST", path, 403, "InvalidSignatureException", ""},
		{"no policy", &otherKey, "POST", path, 403, "AccessDeniedException", ""},
		{"policy allows POST only", &fnKey, "GET", path, 403, "AccessDeniedException", ""},
		{"admin posts", &adminKey, "POST", path, 200, "", "from admin"},
		{"function role posts", &fnKey, "POST", path, 200, "", "from function"},
		{"without the stage prefix", &adminKey, "POST", "/@connections/" + id, 200, "", "no stage"},
		{"unknown connection", &adminKey, "POST", "/dev/@connections/AAAAAAAAAAAAAAA=", 410, "GoneException", ""},
		{"wrong stage", &adminKey, "POST", "/bare/@connections/" + id, 410, "GoneException", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := call(t, h, tt.creds, tt.method, tt.path, tt.received)
			if resp.StatusCode != tt.status || resp.Header.Get("x-amzn-ErrorType") != tt.errType {
				t.Fatalf("%d %s %s, want %d %s", resp.StatusCode, resp.Header.Get("x-amzn-ErrorType"), body, tt.status, tt.errType)
			}
			if tt.received != "" {
				if got := read(t, c); got != tt.received {
					t.Errorf("client got %q, want %q", got, tt.received)
				}
			}
		})
	}
	t.Run("get", func(t *testing.T) {
		resp, body := call(t, h, &adminKey, "GET", path, "")
		var got struct {
			ConnectedAt, LastActiveAt string
			Identity                  struct{ SourceIP, UserAgent string }
		}
		json.Unmarshal([]byte(body), &got)
		if resp.StatusCode != 200 || got.ConnectedAt == "" || got.Identity.SourceIP != "127.0.0.1" || got.Identity.UserAgent != "portico-test" {
			t.Errorf("%d %s", resp.StatusCode, body)
		}
	})
	t.Run("too large", func(t *testing.T) {
		resp, _ := call(t, h, &adminKey, "POST", path, strings.Repeat("x", DefaultMaxMessageBytes+1))
		if resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Errorf("status %d, want 413", resp.StatusCode)
		}
	})
	t.Run("delete, then gone", func(t *testing.T) {
		if resp, body := call(t, h, &adminKey, "DELETE", path, ""); resp.StatusCode != http.StatusNoContent {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, _, err := c.Read(ctx)
		var ce websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != websocket.StatusNormalClosure {
			t.Errorf("read after delete: %v", err)
		}
		if ev := h.next(t); ev.RequestContext.EventType != EventDisconnect {
			t.Fatalf("event %s", ev.RequestContext.EventType)
		}
		if resp, _ := call(t, h, &adminKey, "POST", path, "late"); resp.StatusCode != http.StatusGone || resp.Header.Get("x-amzn-ErrorType") != "GoneException" {
			t.Errorf("post after close: %d", resp.StatusCode)
		}
	})
}

// TestThrottle: a route's bucket refuses the message past its burst with
// API Gateway's message, and a throttled $connect refuses the handshake.
func TestThrottle(t *testing.T) {
	inv := &fakeInvoker{events: make(chan *Event, 64)}
	frozen := time.Unix(1700000000, 0)
	lim := throttle.NewLocal(func() time.Time { return frozen })
	one := &throttle.Limit{Rate: 1, Burst: 1}
	routes := map[string]*Route{
		"$connect": {Key: "$connect", Function: "chat", Throttle: one, ThrottleKey: "c"},
		"echo":     {Key: "echo", Function: "chat", TwoWay: true, Throttle: one, ThrottleKey: "e"},
	}
	h, err := New(Config{APIID: "abc123", RouteSelection: []string{"action"}, Stages: map[string]*Stage{"dev": {Name: "dev", Routes: routes}}},
		Deps{Invoker: inv, Registry: &Registry{}, Limiter: lim})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	url := "ws" + strings.TrimPrefix(srv.URL, "http") + "/dev"
	c := dial(t, url)
	<-inv.events
	write(t, c, `{"action":"echo"}`)
	<-inv.events // the first message is invoked (its answer has no body: nothing is sent)
	write(t, c, `{"action":"echo"}`)
	var got map[string]string
	json.Unmarshal([]byte(read(t, c)), &got)
	if got["message"] != "Too Many Requests" {
		t.Errorf("second message: %v, want Too Many Requests", got)
	}
	_, resp, err := websocket.Dial(context.Background(), url, nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("second connect: %v %v, want 429", resp, err)
	}
}

// TestConnectAuthorization: AWS_IAM and Lambda REQUEST authorizers on
// $connect refuse the handshake (401, 403, 500) or let it through with
// the caller's identity or the authorizer's context in every event.
func TestConnectAuthorization(t *testing.T) {
	policy := func(effect string) string {
		return `{"principalId":"user-7","policyDocument":{"Version":"2012-10-17","Statement":[{"Action":"execute-api:Invoke","Effect":"` + effect +
			`","Resource":"arn:aws:execute-api:us-east-1:000000000000:abc123/dev/$connect"}]},"context":{"tier":"gold","n":3}}`
	}
	newAuthed := func(auth *ConnectAuth) (*httptest.Server, *fakeInvoker) {
		inv := &fakeInvoker{events: make(chan *Event, 64), reply: func(ev *Event) (*invocation.Result, error) {
			if ev.RequestContext.EventType == EventConnect && ev.Headers["Authorization"] != "" && ev.Body == nil && ev.RequestContext.Authorizer == nil && auth.Type == AuthCustom {
				switch ev.Headers["Authorization"] {
				case "allow":
					return &invocation.Result{Payload: []byte(policy("Allow"))}, nil
				case "deny":
					return &invocation.Result{Payload: []byte(policy("Deny"))}, nil
				default:
					return &invocation.Result{FunctionError: "Unhandled", Payload: []byte(`{"errorMessage":"boom"}`)}, nil
				}
			}
			return &invocation.Result{Payload: []byte(`{"statusCode":200}`)}, nil
		}}
		routes := map[string]*Route{
			"$connect": {Key: "$connect", Function: "chat", Auth: auth},
			"$default": {Key: "$default", Function: "chat"},
		}
		h, err := New(Config{APIID: "abc123", Region: region, AccountID: account, RouteSelection: []string{"action"},
			Stages: map[string]*Stage{"dev": {Name: "dev", Routes: routes}}}, Deps{Invoker: inv, Registry: &Registry{}, Principals: principals(t)})
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(h)
		t.Cleanup(srv.Close)
		return srv, inv
	}
	dialWith := func(srv *httptest.Server, hdr http.Header) (*websocket.Conn, int) {
		c, resp, err := websocket.Dial(context.Background(), "ws"+strings.TrimPrefix(srv.URL, "http")+"/dev", &websocket.DialOptions{HTTPHeader: hdr})
		if err != nil {
			if resp == nil {
				t.Fatal(err)
			}
			return nil, resp.StatusCode
		}
		t.Cleanup(func() { c.CloseNow() })
		return c, 101
	}
	signedHeader := func(srv *httptest.Server, creds *sigv4.Credentials) http.Header {
		req, _ := http.NewRequest("GET", srv.URL+"/dev", nil)
		sum := sha256.Sum256(nil)
		if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: creds.AccessKeyID, SecretAccessKey: creds.SecretAccessKey},
			req, hex.EncodeToString(sum[:]), ManageService, region, time.Now()); err != nil {
			t.Fatal(err)
		}
		return http.Header{"Authorization": req.Header["Authorization"], "X-Amz-Date": req.Header["X-Amz-Date"]}
	}

	t.Run("AWS_IAM", func(t *testing.T) {
		srv, inv := newAuthed(&ConnectAuth{Type: AuthIAM})
		tests := []struct {
			name   string
			hdr    http.Header
			status int
		}{
			{"unsigned", nil, 403},
			{"no execute-api:Invoke", signedHeader(srv, &fnKey), 403},
			{"wrong secret", signedHeader(srv, &sigv4.Credentials{AccessKeyID: adminKey.AccessKeyID, SecretAccessKey: "x"}), 403},
			{"admin", signedHeader(srv, &adminKey), 101},
		}
		for _, tt := range tests {
			if _, got := dialWith(srv, tt.hdr); got != tt.status {
				t.Errorf("%s: status %d, want %d", tt.name, got, tt.status)
			}
		}
		ev := <-inv.events
		if id := ev.RequestContext.Identity; id.AccessKey != adminKey.AccessKeyID || id.UserARN == "" {
			t.Errorf("identity %+v", id)
		}
	})
	t.Run("CUSTOM", func(t *testing.T) {
		srv, inv := newAuthed(&ConnectAuth{Type: AuthCustom, Function: "authz", IdentitySource: []string{"route.request.header.Authorization"}})
		tests := []struct {
			name, token string
			status      int
		}{
			{"missing identity source", "", 401},
			{"deny", "deny", 403},
			{"authorizer fails", "boom", 500},
			{"allow", "allow", 101},
		}
		var conn *websocket.Conn
		for _, tt := range tests {
			hdr := http.Header{}
			if tt.token != "" {
				hdr.Set("Authorization", tt.token)
			}
			c, got := dialWith(srv, hdr)
			if got != tt.status {
				t.Errorf("%s: status %d, want %d", tt.name, got, tt.status)
			}
			if tt.token != "" {
				if ev := <-inv.events; ev.RequestContext.EventType != EventConnect || ev.RequestContext.Authorizer != nil {
					t.Errorf("%s: authorizer event %+v", tt.name, ev.RequestContext)
				}
			}
			conn = c
		}
		connect := <-inv.events
		write(t, conn, "hello")
		msg := <-inv.events
		for _, ev := range []*Event{connect, msg} {
			if a := ev.RequestContext.Authorizer; a["principalId"] != "user-7" || a["tier"] != "gold" {
				t.Errorf("%s authorizer %v", ev.RequestContext.EventType, a)
			}
		}
	})
}

// TestRegistryClose: shutting down closes every connection with 1001 and
// returns once $disconnect has run.
func TestRegistryClose(t *testing.T) {
	h := newHarness(t, Limits{}, nil)
	c := dial(t, h.url("/dev"))
	h.next(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	go func() {
		c.Read(ctx) // answers the close handshake
	}()
	h.reg.Close(ctx)
	select {
	case ev := <-h.inv.events:
		if ev.RequestContext.EventType != EventDisconnect || *ev.RequestContext.DisconnectStatusCode != 1001 {
			t.Errorf("event %+v", ev.RequestContext)
		}
	default:
		t.Fatal("Close returned before $disconnect ran")
	}
	if ctx.Err() != nil || h.reg.Len() != 0 {
		t.Errorf("ctx %v, %d connections left", ctx.Err(), h.reg.Len())
	}
}

// TestManyStreams: 100 clients each receive a stream of 50 messages posted
// through @connections at the same time; none is lost or reordered.
func TestManyStreams(t *testing.T) {
	const clients, messages = 100, 50
	h := newHarness(t, Limits{}, nil)
	conns := make([]*websocket.Conn, clients)
	ids := make([]string, clients)
	for i := range conns {
		conns[i] = dial(t, h.url("/dev"))
		ids[i] = h.next(t).RequestContext.ConnectionID
	}
	errs := make(chan error, 2*clients)
	for i := range conns {
		go func() { // the function streaming to client i
			for m := range messages {
				resp, body := call(t, h, &adminKey, "POST", "/dev/@connections/"+ids[i], fmt.Sprintf("%d:%d", i, m))
				if resp.StatusCode != 200 {
					errs <- fmt.Errorf("post %d:%d: %d %s", i, m, resp.StatusCode, body)
					return
				}
			}
			errs <- nil
		}()
		go func() { // client i
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			for m := range messages {
				_, b, err := conns[i].Read(ctx)
				if err != nil {
					errs <- fmt.Errorf("client %d message %d: %w", i, m, err)
					return
				}
				if want := fmt.Sprintf("%d:%d", i, m); string(b) != want {
					errs <- fmt.Errorf("client %d got %q, want %q", i, b, want)
					return
				}
			}
			errs <- nil
		}()
	}
	for range 2 * clients {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}
