package apikey

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/portico-dev/portico/internal/openai"
	"github.com/portico-dev/portico/internal/throttle"
)

func TestTokenUsage(t *testing.T) {
	c := newClock()
	cfg := testConfig(c)
	cfg.Plans[0].TokenLimits = openai.TokenLimit{PerMinute: 100, PerDay: 1000}
	st := throttle.NewLocal(c.Now)
	cfg.Store = st
	r, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, a := range []struct {
		c openai.Counter
		n int64
	}{{openai.Prompt, 7}, {openai.Completion, 5}, {openai.Total, 12}} {
		for _, p := range []throttle.Period{throttle.Minute, throttle.Day} {
			st.Add(ctx, openai.APIKeyCounter("alice", a.c), p, -1, a.n)
		}
	}
	c.Advance(60_000_000_000) // the next minute: the minute window is empty again
	st.Add(ctx, openai.APIKeyCounter("alice", openai.Total), throttle.Minute, -1, 1)

	u, err := r.Usage(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	wantMin := TokenWindow{Total: 1, Limit: 100, Reset: c.Now().Truncate(60_000_000_000).Add(60_000_000_000)}
	wantDay := TokenWindow{Prompt: 7, Completion: 5, Total: 12, Limit: 1000, Reset: u.Reset}
	if u.Tokens.Minute != wantMin || u.Tokens.Day != wantDay {
		t.Fatalf("Tokens = %+v, want minute %+v day %+v", u.Tokens, wantMin, wantDay)
	}
	if u, _ := r.Usage(ctx, "off"); u.Tokens.Day.Limit != -1 || u.Tokens.Minute.Limit != -1 {
		t.Fatalf("plan without token limits: %+v, want limits -1", u.Tokens)
	}

	if l, err := r.TokenLimit(ctx, "alice"); err != nil || l != (openai.TokenLimit{PerMinute: 100, PerDay: 1000}) {
		t.Fatalf("TokenLimit(alice) = %+v, %v", l, err)
	}
	if _, err := r.TokenLimit(ctx, "zed"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("TokenLimit(zed): %v, want ErrNotFound", err)
	}

	w := httptest.NewRecorder()
	r.Handler().ServeHTTP(w, httptest.NewRequest(http.MethodGet, HandlerPrefix+"/alice/usage", nil))
	var got struct {
		Tokens struct {
			Day struct{ Prompt, Completion, Total, Limit int64 } `json:"day"`
		} `json:"tokens"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil || got.Tokens.Day.Total != 12 || got.Tokens.Day.Prompt != 7 || got.Tokens.Day.Limit != 1000 {
		t.Fatalf("handler: %d %s (%v)", w.Code, w.Body, err)
	}
}

func TestBadTokenLimits(t *testing.T) {
	cfg := testConfig(newClock())
	cfg.Plans[0].TokenLimits = openai.TokenLimit{PerMinute: -5}
	if _, err := New(cfg); err == nil {
		t.Fatal("negative token limit: want an error")
	}
}
