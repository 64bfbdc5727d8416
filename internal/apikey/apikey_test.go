package apikey

import (
	"context"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/edge"
	"github.com/portico-dev/portico/internal/redisconn"
	"github.com/portico-dev/portico/internal/testtool"
	"github.com/portico-dev/portico/internal/throttle"
	"github.com/portico-dev/portico/internal/throttle/redistest"
	"github.com/redis/go-redis/v9"
)

type quietLogger struct{ l *log.Logger }

func (q quietLogger) Printf(_ context.Context, f string, v ...any) { q.l.Printf(f, v...) }

func TestMain(m *testing.M) {
	redis.SetLogger(quietLogger{log.New(io.Discard, "", 0)})
	os.Exit(m.Run())
}

type clock struct{ ns atomic.Int64 }

func (c *clock) Now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *clock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

func newClock() *clock {
	c := &clock{}
	c.ns.Store(time.Date(2025, 3, 12, 22, 0, 0, 0, time.UTC).UnixNano())
	return c
}

const aliceValue = "alice-0123456789abcdefghij"

func testConfig(c *clock) Config {
	return Config{
		Plans: []Plan{
			{Name: "free", Throttle: &throttle.Limit{Rate: 1, Burst: 2}, QuotaLimit: 3, QuotaPeriod: throttle.Day, Stages: []string{"myApi/v1"}},
			{Name: "open", Stages: []string{"myApi/v1", "myApi/v2"}},
		},
		Keys: []Key{
			{Name: "alice", Value: aliceValue, Plan: "free", Enabled: true},
			{Name: "off", Value: "off-0123456789abcdefghij", Plan: "open", Enabled: false},
		},
		Now: c.Now,
	}
}

func kindOf(err error) edge.Kind {
	if err == nil {
		return -1
	}
	return edge.As(err).Kind
}

func TestCheck(t *testing.T) {
	c := newClock()
	r, err := New(testConfig(c))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	tests := []struct {
		name     string
		value    string
		stage    string
		wantKind edge.Kind
		wantErr  error
	}{
		{"missing", "", "myApi/v1", edge.Forbidden, ErrMissingKey},
		{"unknown", "nope-0123456789abcdefghij", "myApi/v1", edge.Forbidden, ErrUnknownKey},
		{"disabled", "off-0123456789abcdefghij", "myApi/v1", edge.Forbidden, ErrDisabledKey},
		{"stage not in plan", aliceValue, "myApi/v2", edge.Forbidden, ErrStageDenied},
		{"ok 1", aliceValue, "myApi/v1", -1, nil},
		{"ok 2", aliceValue, "myApi/v1", -1, nil},
		{"throttled (burst 2)", aliceValue, "myApi/v1", edge.TooManyRequests, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, _, err := r.Check(ctx, tt.value, tt.stage)
			if kindOf(err) != tt.wantKind {
				t.Fatalf("Check = %v, want kind %v", err, tt.wantKind)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Fatalf("Check = %v, want %v", err, tt.wantErr)
			}
			if err == nil && (k == nil || k.Name != "alice") {
				t.Fatalf("key = %+v", k)
			}
		})
	}
}

func TestQuotaExhaustionAndReset(t *testing.T) {
	c := newClock()
	r, err := New(testConfig(c))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i := range 3 {
		c.Advance(2 * time.Second) // keep the bucket full
		if _, _, err := r.Check(ctx, aliceValue, "myApi/v1"); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	c.Advance(2 * time.Second)
	_, d, err := r.Check(ctx, aliceValue, "myApi/v1")
	if kindOf(err) != edge.TooManyRequests || !errors.Is(err, ErrQuotaSpent) {
		t.Fatalf("4th request: %v, want 429 quota", err)
	}
	if want := 2*time.Hour - 8*time.Second; d.RetryAfter != want {
		t.Fatalf("RetryAfter = %v, want %v (until 00:00 UTC)", d.RetryAfter, want)
	}
	u, err := r.Usage(ctx, "alice")
	if err != nil || u.Used != 3 || u.Limit != 3 || u.Remaining != 0 || u.Period != throttle.Day {
		t.Fatalf("Usage = %+v, %v", u, err)
	}
	c.Advance(2 * time.Hour)
	if _, _, err := r.Check(ctx, aliceValue, "myApi/v1"); err != nil {
		t.Fatalf("after reset: %v", err)
	}
	if u, _ := r.Usage(ctx, "alice"); u.Used != 1 {
		t.Fatalf("used after reset = %d, want 1", u.Used)
	}
	if _, err := r.Usage(ctx, "nobody"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Usage(nobody) = %v, want ErrNotFound", err)
	}
}

func TestCreateDeletePersist(t *testing.T) {
	c := newClock()
	cfg := testConfig(c)
	cfg.DataFile = filepath.Join(t.TempDir(), "apikeys.json")
	r, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	bob, err := r.Create(ctx, "bob", "open")
	if err != nil {
		t.Fatal(err)
	}
	if len(bob.Value) != 40 || !bob.Enabled {
		t.Fatalf("created %+v", bob)
	}
	if _, err := r.Create(ctx, "carol", "open"); err != nil {
		t.Fatal(err)
	}
	bad := []struct {
		name, key, plan string
		want            error
	}{
		{"taken", "bob", "open", ErrExists},
		{"spec name", "alice", "open", ErrExists},
		{"bad name", "../x", "open", ErrInvalid},
		{"empty name", "", "open", ErrInvalid},
		{"unknown plan", "dave", "gold", ErrUnknownPlan},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := r.Create(ctx, tt.key, tt.plan); !errors.Is(err, tt.want) {
				t.Fatalf("Create = %v, want %v", err, tt.want)
			}
		})
	}
	if err := r.Delete(ctx, "carol"); err != nil {
		t.Fatal(err)
	}
	if err := r.Delete(ctx, "carol"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second Delete = %v", err)
	}
	if err := r.Delete(ctx, "alice"); !errors.Is(err, ErrSpecKey) {
		t.Fatalf("Delete(spec key) = %v", err)
	}
	b, _ := os.ReadFile(cfg.DataFile)
	if strings.Contains(string(b), "alice") || !strings.Contains(string(b), bob.Value) {
		t.Fatalf("data file: %s", b)
	}
	// Restart.
	r2, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	keys, _ := r2.List(ctx)
	var names []string
	for _, k := range keys {
		names = append(names, k.Name)
	}
	if got := strings.Join(names, ","); got != "alice,off,bob" {
		t.Fatalf("after restart: %s", got)
	}
	if k, _, err := r2.Check(ctx, bob.Value, "myApi/v2"); err != nil || k.Name != "bob" {
		t.Fatalf("bob after restart: %v", err)
	}
	// A corrupt data file is an error, not an empty registry.
	os.WriteFile(cfg.DataFile, []byte("{"), 0o600)
	if _, err := New(cfg); err == nil {
		t.Fatal("New with a corrupt data file: want an error")
	}
}

func TestNewBadConfig(t *testing.T) {
	c := newClock()
	tests := []struct {
		name string
		mod  func(*Config)
	}{
		{"unknown plan", func(cfg *Config) { cfg.Keys[0].Plan = "gold" }},
		{"short value", func(cfg *Config) { cfg.Keys[0].Value = "short" }},
		{"duplicate key", func(cfg *Config) { cfg.Keys[1].Name = "alice" }},
		{"duplicate value", func(cfg *Config) { cfg.Keys[1].Value = aliceValue }},
		{"duplicate plan", func(cfg *Config) { cfg.Plans[1].Name = "free" }},
		{"bad period", func(cfg *Config) { cfg.Plans[0].QuotaPeriod = "YEAR" }},
		{"limit without period", func(cfg *Config) { cfg.Plans[1].QuotaLimit = 5 }},
		{"negative rate", func(cfg *Config) { cfg.Plans[0].Throttle = &throttle.Limit{Rate: -1} }},
		{"bad stage", func(cfg *Config) { cfg.Plans[0].Stages = []string{"v1"} }},
		{"file and redis", func(cfg *Config) { cfg.DataFile, cfg.Redis = "x", &redisconn.Client{} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig(c)
			tt.mod(&cfg)
			if _, err := New(cfg); err == nil {
				t.Fatal("want an error")
			}
		})
	}
	cfg := testConfig(c)
	cfg.Keys[0].Value = ""
	r, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if k := r.cur.Load().specN["alice"]; len(k.Value) != 40 {
		t.Fatalf("generated spec value %q", k.Value)
	}
}

// TestDeletedWhileInUse: requests keep flowing while the key is deleted;
// every Check that starts after Delete returns is refused.
func TestDeletedWhileInUse(t *testing.T) {
	r, err := New(testConfig(newClock()))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	k, _ := r.Create(ctx, "temp", "open")
	var deleted atomic.Bool
	var leaked atomic.Int64
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 2000 {
				after := deleted.Load()
				_, _, err := r.Check(ctx, k.Value, "myApi/v1")
				if after && err == nil {
					leaked.Add(1)
				}
				if after && kindOf(err) != edge.Forbidden {
					leaked.Add(1)
				}
			}
		})
	}
	time.Sleep(time.Millisecond)
	if err := r.Delete(ctx, "temp"); err != nil {
		t.Fatal(err)
	}
	deleted.Store(true)
	wg.Wait()
	if leaked.Load() > 0 {
		t.Fatalf("%d requests admitted after the key was deleted", leaked.Load())
	}
}

func TestHandler(t *testing.T) {
	r, err := New(testConfig(newClock()))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(r.Handler())
	defer srv.Close()
	do := func(method, path, body string) (int, string) {
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	tests := []struct {
		name, method, path, body string
		wantStatus               int
		wantBody                 string
	}{
		{"create", "POST", "/_portico/apikeys", `{"name":"bob","plan":"open"}`, 201, `"name":"bob"`},
		{"create taken", "POST", "/_portico/apikeys", `{"name":"bob","plan":"open"}`, 409, "already exists"},
		{"create bad json", "POST", "/_portico/apikeys", `{"name":`, 400, "invalid"},
		{"create unknown field", "POST", "/_portico/apikeys", `{"name":"x","plan":"open","x":1}`, 400, "unknown field"},
		{"create unknown plan", "POST", "/_portico/apikeys", `{"name":"x","plan":"gold"}`, 400, "unknown usage plan"},
		{"list hides values", "GET", "/_portico/apikeys", "", 200, `"name":"alice","plan":"free"`},
		{"list with values", "GET", "/_portico/apikeys?includeValues=true", "", 200, aliceValue},
		{"usage", "GET", "/_portico/apikeys/alice/usage", "", 200, `"limit":3`},
		{"usage unknown", "GET", "/_portico/apikeys/zed/usage", "", 404, "no such api key"},
		{"delete", "DELETE", "/_portico/apikeys/bob", "", 204, ""},
		{"delete again", "DELETE", "/_portico/apikeys/bob", "", 404, "no such"},
		{"delete spec key", "DELETE", "/_portico/apikeys/alice", "", 400, "spec"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := do(tt.method, tt.path, tt.body)
			if status != tt.wantStatus || !strings.Contains(body, tt.wantBody) {
				t.Fatalf("%s %s = %d %s, want %d containing %q", tt.method, tt.path, status, body, tt.wantStatus, tt.wantBody)
			}
		})
	}
}

// TestRedisShared: two Registries on one Redis (two replicas) see each
// other's keys, deletions and quota.
func TestRedisShared(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	c := newClock()
	var regs []*Registry
	for range 2 {
		rc := srv.Client(t, time.Second) // one client per replica, shared by its stores
		store, err := throttle.NewRedis(ctx, rc, throttle.RedisOptions{Now: c.Now, Timeout: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		cfg := testConfig(c)
		cfg.Plans[1].QuotaLimit, cfg.Plans[1].QuotaPeriod = 4, throttle.Month
		cfg.Store, cfg.Redis, cfg.RedisTimeout = store, rc, time.Second
		r, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { r.Close() })
		regs = append(regs, r)
	}
	a, b := regs[0], regs[1]
	k, err := a.Create(ctx, "shared", "open")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Create(ctx, "shared", "open"); !errors.Is(err, ErrExists) {
		t.Fatalf("second replica created the same name: %v", err)
	}
	for i := range 4 {
		if _, _, err := regs[i%2].Check(ctx, k.Value, "myApi/v2"); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	if _, _, err := a.Check(ctx, k.Value, "myApi/v2"); !errors.Is(err, ErrQuotaSpent) {
		t.Fatalf("5th request across replicas: %v, want quota spent", err)
	}
	if u, err := b.Usage(ctx, "shared"); err != nil || u.Used != 4 {
		t.Fatalf("Usage on the other replica = %+v, %v", u, err)
	}
	keys, _ := b.List(ctx)
	if len(keys) != 3 || keys[2].Name != "shared" || keys[2].Value != k.Value {
		t.Fatalf("List on the other replica = %+v", keys)
	}
	if err := b.Delete(ctx, "shared"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.Check(ctx, k.Value, "myApi/v2"); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("key deleted on the other replica: %v, want unknown key", err)
	}
	// Redis down: the check ends by itself (RedisTimeout bounds it) with a
	// 503, for a caller whose context never ends.
	srv.Kill()
	checked := make(chan error, 1)
	go func() {
		_, _, err := a.Check(context.Background(), "zzzz-0123456789abcdefghij", "myApi/v2")
		checked <- err
	}()
	if err := testtool.Await(t, "the check with Redis down", checked); kindOf(err) != edge.ServiceUnavailable {
		t.Fatalf("Redis down: %v, want 503", err)
	}
}

// TestUpdate replaces the spec's plans and keys, as a redeploy does: the
// new definitions apply at once, and an invalid update changes nothing.
func TestUpdate(t *testing.T) {
	c := newClock()
	cfg := testConfig(c)
	r, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := r.Check(context.Background(), aliceValue, "myApi/v2"); kindOf(err) != edge.Forbidden {
		t.Fatalf("before update: %v, want 403 (plan free lacks v2)", err)
	}
	plans := []Plan{{Name: "free", Stages: []string{"myApi/v1", "myApi/v2"}}}
	keys := []Key{{Name: "alice", Value: aliceValue, Plan: "free", Enabled: true}}
	if err := r.Update(plans, keys); err != nil {
		t.Fatal(err)
	}
	if _, _, err := r.Check(context.Background(), aliceValue, "myApi/v2"); err != nil {
		t.Fatalf("after update: %v", err)
	}
	bad := []Key{{Name: "bob", Value: "bob-0123456789abcdefghij", Plan: "nope", Enabled: true}}
	if err := r.Update(plans, bad); err == nil {
		t.Fatal("update with an unknown plan accepted")
	}
	if _, _, err := r.Check(context.Background(), aliceValue, "myApi/v2"); err != nil {
		t.Fatalf("a failed update changed the registry: %v", err)
	}
}
