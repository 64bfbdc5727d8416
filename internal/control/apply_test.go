package control

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/portico-dev/portico/internal/apikey"
	"github.com/portico-dev/portico/internal/gateway"
	"github.com/portico-dev/portico/internal/invocation"
	"github.com/portico-dev/portico/internal/lambda"
	"github.com/portico-dev/portico/internal/lambda/build"
	"github.com/portico-dev/portico/internal/s3"
	"github.com/portico-dev/portico/internal/spec"
)

var errInjected = errors.New("injected failure")

// fakes are the collaborators apply changes, recording what they hold and
// failing on demand (fail names the step: "builder", in the compile
// phase, then the commit's "runner", "apiKeys", "keyring", "buckets"). A step fails only on the apply it is armed for: rollbacks
// succeed.
type fakes struct {
	mu      sync.Mutex
	fail    string
	runner  *fakeRunner
	keys    *fakeKeys
	keyring *fakeKeyring
	buckets *fakeBuckets
}

func newFakes() *fakes {
	f := &fakes{}
	f.runner, f.keys, f.keyring, f.buckets = &fakeRunner{f: f}, &fakeKeys{f: f}, &fakeKeyring{f: f}, &fakeBuckets{f: f, have: map[string]bool{}}
	return f
}

// take reports whether step is armed to fail, and disarms it.
func (f *fakes) take(step string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail == step {
		f.fail = ""
		return true
	}
	return false
}

type fakeRunner struct {
	f     *fakes
	mu    sync.Mutex
	fns   map[string]lambda.Function
	retry map[string]int // function -> its event invoke configuration's maximum retries
}

func (r *fakeRunner) SetPermissions(map[string][]lambda.Permission) {}

func (r *fakeRunner) SetEventInvokeConfigs(cfgs map[string]invocation.EventInvokeConfig) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.retry = map[string]int{}
	for name, c := range cfgs {
		if c.MaximumRetryAttempts != nil {
			r.retry[name] = *c.MaximumRetryAttempts
		}
	}
}

func (r *fakeRunner) retries() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for n, v := range r.retry {
		out = append(out, fmt.Sprintf("%s=%d", n, v))
	}
	sort.Strings(out)
	return out
}

func (r *fakeRunner) Deploy(_ context.Context, fns []lambda.Function) error {
	if r.f.take("runner") {
		return errInjected
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.fns = map[string]lambda.Function{}
	for _, fn := range fns {
		r.fns[fn.Name] = fn
	}
	return nil
}

// Invoke answers with the deployed function's MARK variable, so a response
// tells which version served it.
func (r *fakeRunner) Invoke(_ context.Context, req *invocation.Request) (*invocation.Result, error) {
	r.mu.Lock()
	fn, ok := r.fns[req.FunctionName]
	r.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("no function %s", req.FunctionName)
	}
	return &invocation.Result{Payload: fmt.Appendf(nil, `{"statusCode":200,"body":%q}`, fn.Environment["MARK"])}, nil
}

func (r *fakeRunner) marks() map[string]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]string{}
	for n, fn := range r.fns {
		out[n] = fn.Environment["MARK"]
	}
	return out
}

// fakeBuilder builds in place; a failure is the compile phase's.
type fakeBuilder struct{ f *fakes }

func (b fakeBuilder) Build(_ context.Context, fn build.Function) (build.Result, error) {
	if b.f.take("builder") {
		return build.Result{}, errInjected
	}
	return build.Result{CodeDir: fn.CodeDir}, nil
}

type fakeKeys struct {
	f    *fakes
	keys []apikey.Key
}

func (k *fakeKeys) Update(_ []apikey.Plan, keys []apikey.Key) error {
	if k.f.take("apiKeys") {
		return errInjected
	}
	k.keys = keys
	return nil
}

type fakeKeyring struct {
	f  *fakes
	ps []s3.Principal
}

func (k *fakeKeyring) Set(ps []s3.Principal) error {
	if k.f.take("keyring") {
		return errInjected
	}
	k.ps = ps
	return nil
}

func (k *fakeKeyring) names() []string {
	var out []string
	for _, p := range k.ps {
		out = append(out, p.Name)
	}
	return out
}

type fakeBuckets struct {
	f    *fakes
	have map[string]bool
}

func (b *fakeBuckets) EnsureBuckets(_ context.Context, buckets []s3.Bucket) error {
	if b.f.take("buckets") {
		return errInjected
	}
	for _, bk := range buckets {
		b.have[bk.Name] = true
	}
	return nil
}

// system is the running system as a test sees it from outside.
type system struct {
	routes  map[string]string // path -> status and body
	marks   map[string]string // function -> MARK
	keys    []string
	keyring []string
	buckets []string
	queues  []string // integration -> its shared limiter's size
	retries []string // function -> maximum retries of its asynchronous invocations
}

func look(t *testing.T, c *Controller, gw http.Handler, f *fakes) system {
	t.Helper()
	s := system{routes: map[string]string{}, marks: f.runner.marks(), retries: f.runner.retries()}
	for _, path := range []string{"/v1", "/v2"} {
		rec := httptest.NewRecorder()
		gw.ServeHTTP(rec, httptest.NewRequest("GET", "http://api.example.com"+path, nil))
		s.routes[path] = fmt.Sprintf("%d %s", rec.Code, rec.Body.String())
	}
	for _, k := range f.keys.keys {
		s.keys = append(s.keys, k.Name)
	}
	s.keyring = f.keyring.names()
	for b := range f.buckets.have {
		s.buckets = append(s.buckets, b)
	}
	slices.Sort(s.buckets)
	c.queues.mu.Lock()
	for id, e := range c.queues.all {
		s.queues = append(s.queues, fmt.Sprintf("%s=%d", id[strings.Index(id, "/")+1:], e.cfg.MaxConcurrency))
	}
	c.queues.mu.Unlock()
	slices.Sort(s.queues)
	return s
}

// versionSpec is a system whose every part differs between versions: the
// route, the function's code, the access key (so the keyring), the API
// key and the bucket.
func versionSpec(t *testing.T, dir, v string) *spec.Spec {
	t.Helper()
	text := fmt.Sprintf(`
functions:
  fn: {runtime: python3.12, handler: handler.main, code: app, environment: {MARK: %[1]s}, eventInvokeConfig: {maximumRetryAttempts: %[4]d}}
roles:
  r%[1]s:
    policies: [{Version: "2012-10-17", Statement: {Effect: Allow, Action: "s3:*", Resource: "*", Condition: {Bool: {aws:SecureTransport: true}}}}]
accessKeys:
  key%[1]s: {accessKeyId: AKIA%[2]sEXAMPLEKEY, secretAccessKey: secret%[1]s-0123456789, role: r%[1]s}
buckets:
  bucket-%[1]s: {}
usagePlans:
  plan: {}
apiKeys:
  apikey%[1]s: {value: "value-%[1]s-0123456789abcdef", plan: plan}
apis:
  shop:
    integrations:
      fn: {type: AWS_PROXY, function: fn, maxConcurrency: %[3]d}
    routes:
      "GET /%[1]s": {integration: fn}
    stages:
      $default: {autoDeploy: true}
`, v, strings.ToUpper(v), map[string]int{"v1": 2, "v2": 4}[v], map[string]int{"v1": 1, "v2": 0}[v])
	path := filepath.Join(dir, v+".yaml")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	sp, err := spec.Load(path)
	if err != nil {
		t.Fatalf("spec %s: %v", v, err)
	}
	return sp
}

// TestApplyAllOrNothing applies v1, then v2 with a failure injected at
// each step of the commit, and checks that the running system is v1's in
// every part; then v2 without failure, which must take over every part.
func TestApplyAllOrNothing(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "app"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "app", "handler.py"), []byte("def main(e, c):\n    return {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	v1, v2 := versionSpec(t, dir, "v1"), versionSpec(t, dir, "v2")
	ctx := context.Background()

	creds, err := lambda.NewFunctionCredentials([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	f := newFakes()
	gw := gateway.New(gateway.Deps{})
	c := New(Config{Region: "us-east-1", AccountID: "000000000000"}, Deps{Runner: f.runner, Gateway: gw, Storage: &Storage{Credentials: creds}, Builder: fakeBuilder{f}})
	c.effects.apiKeys, c.effects.keyring, c.effects.buckets = f.keys, f.keyring, f.buckets
	if err := c.Apply(ctx, v1); err != nil {
		t.Fatalf("apply v1: %v", err)
	}
	before := look(t, c, gw, f)
	wantV1 := system{
		routes:  map[string]string{"/v1": "200 v1", "/v2": `404 {"message":"Not Found"}`},
		marks:   map[string]string{"fn": "v1"},
		keys:    []string{"apikeyv1"},
		keyring: []string{"function/fn", "accessKey/keyv1"},
		buckets: []string{"bucket-v1"},
		retries: []string{"fn=1"},
		queues:  []string{"fn=2"},
	}
	if fmt.Sprint(before) != fmt.Sprint(wantV1) {
		t.Fatalf("after v1:\n got %v\nwant %v", before, wantV1)
	}

	for _, step := range []string{"builder", "runner", "apiKeys", "keyring", "buckets"} {
		t.Run("fail at "+step, func(t *testing.T) {
			f.fail = step
			err := c.Apply(ctx, v2)
			if !errors.Is(err, errInjected) {
				t.Fatalf("apply v2 = %v, want the injected failure", err)
			}
			if f.fail != "" {
				t.Fatalf("step %s never ran", step)
			}
			if got := look(t, c, gw, f); fmt.Sprint(got) != fmt.Sprint(before) {
				t.Errorf("running system changed:\n got %v\nwant %v", got, before)
			}
			if c.Spec() != v1 {
				t.Error("the applied spec is no longer v1")
			}
		})
	}

	if err := c.Apply(ctx, v2); err != nil {
		t.Fatalf("apply v2: %v", err)
	}
	got := look(t, c, gw, f)
	if got.routes["/v2"] != "200 v2" || got.routes["/v1"] == "200 v1" || got.marks["fn"] != "v2" ||
		fmt.Sprint(got.keys) != "[apikeyv2]" || fmt.Sprint(got.keyring) != "[function/fn accessKey/keyv2]" ||
		fmt.Sprint(got.buckets) != "[bucket-v1 bucket-v2]" || fmt.Sprint(got.queues) != "[fn=4]" {
		t.Errorf("after v2: %v", got)
	}
}
