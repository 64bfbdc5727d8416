package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/apikey"
	"github.com/portico-dev/portico/internal/openai/openaitest"
	"github.com/portico-dev/portico/internal/testtool"
)

// TestAIExample runs examples/ai through `portico up` against the fake
// OpenAI-compatible server: streaming to curl and to a browser EventSource,
// token metering (usage, access log, metrics), token limits, the
// concurrency queue and failover to the backup upstream.
func TestAIExample(t *testing.T) {
	primary := openaitest.Start(t, openaitest.Options{Delay: 100 * time.Millisecond})
	backup := openaitest.Start(t, openaitest.Options{Model: "backup-model"})
	specFile := copyExample(t, "ai",
		"http://127.0.0.1:11434", primary.URL,
		"http://127.0.0.1:8000", backup.URL,
		"maxConcurrency: 2 ", "maxConcurrency: 1 ",
		"maxQueue: 8 ", "maxQueue: 1 ",
		"usagePlans:\n", "usagePlans:\n  tight:\n    tokenLimits: {perMinute: 30}\n    apiStages: [{api: ai, stage: $default}]\n",
		"apiKeys:\n", "apiKeys:\n  tight: {plan: tight, value: tight-key-0123456789abcdef}\n",
	)
	in := up(t, specFile)
	ep := strings.TrimSuffix(in.endpoints["ai $default"], "/")
	if ep == "" {
		t.Fatalf("no endpoint for ai $default in %v", in.endpoints)
	}
	const demoKey, tightKey = "demo-key-0123456789abcdef", "tight-key-0123456789abcdef"
	chat := func(key, body string) *http.Request {
		r, err := http.NewRequest("POST", ep+"/v1/chat/completions", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("X-Api-Key", key)
		return r
	}
	const jsonChat = `{"model":"m","messages":[{"role":"user","content":"one two three"}]}`

	t.Run("chat without a key", func(t *testing.T) {
		r := chat("", jsonChat)
		r.Header.Del("X-Api-Key")
		if resp, body := do(t, r); resp.StatusCode != 403 {
			t.Errorf("%d %s, want 403", resp.StatusCode, body)
		}
	})

	t.Run("chat JSON", func(t *testing.T) {
		resp, body := do(t, chat(demoKey, jsonChat))
		if resp.StatusCode != 200 || !strings.Contains(body, `"content":"Hello from the fake model"`) || !strings.Contains(body, `"total_tokens":8`) {
			t.Errorf("%d %s", resp.StatusCode, body)
		}
	})

	t.Run("streaming function with curl -N", func(t *testing.T) {
		if _, err := exec.LookPath("curl"); err != nil {
			testtool.Missing(t, "curl", "not installed")
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, "curl", "-sSN", ep+"/v1/stream?q=curl&delay=100")
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		var tokens []string
		var at []time.Time
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if tok, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				tokens = append(tokens, tok)
				at = append(at, time.Now())
			}
		}
		if err := cmd.Wait(); err != nil {
			t.Fatalf("curl: %v", err)
		}
		if len(tokens) < 5 || tokens[0] != "You" || tokens[len(tokens)-1] != "[DONE]" {
			t.Fatalf("tokens %q", tokens)
		}
		if spread := at[len(at)-1].Sub(at[0]); spread < 500*time.Millisecond {
			t.Errorf("first token %v before the last, want tokens printed as they come (>= 500ms)", spread)
		}
	})

	t.Run("streamed chat completion", func(t *testing.T) {
		before := len(primary.Bodies())
		resp, err := http.DefaultClient.Do(chat(demoKey, `{"model":"m","stream":true,"messages":[{"role":"user","content":"say hi"}]}`))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
			t.Fatalf("%d %v", resp.StatusCode, resp.Header)
		}
		var events []string
		var at []time.Time
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				events = append(events, data)
				at = append(at, time.Now())
			}
		}
		if err := sc.Err(); err != nil {
			t.Fatal(err)
		}
		// role chunk, five words, the finish chunk, [DONE]: no usage chunk.
		if len(events) != 8 || events[7] != "[DONE]" {
			t.Fatalf("%d events: %q", len(events), events)
		}
		for _, e := range events {
			if strings.Contains(e, "usage") || strings.Contains(e, `"choices":[]`) {
				t.Errorf("the client's stream has a usage the client did not ask for: %s", e)
			}
		}
		if spread := at[len(at)-1].Sub(at[0]); spread < 400*time.Millisecond {
			t.Errorf("events arrived within %v, want them incrementally (about 100ms apart)", spread)
		}
		bodies := primary.Bodies()[before:]
		if len(bodies) != 1 || !strings.Contains(string(bodies[0]), `"include_usage":true`) {
			t.Errorf("the model server got %q, want include_usage asked for", bodies)
		}
	})

	t.Run("usage of the key", func(t *testing.T) {
		// JSON chat: 3 + 5 tokens; streamed chat: 2 + 5.
		// Tokens are charged once a response has ended, just after the
		// client read its last byte.
		var u apikey.Usage
		waitFor(t, redeployWait, func() bool { u = keyUsage(t, in, "demo"); return u.Tokens.Day.Total >= 15 })
		if got := u.Tokens.Day; got.Prompt != 5 || got.Completion != 10 || got.Total != 15 || got.Limit != 100000 {
			t.Errorf("day tokens %+v, want prompt 5, completion 10, total 15, limit 100000", got)
		}
		out, err := in.cli("usage", "demo").CombinedOutput()
		if err != nil {
			t.Fatalf("portico usage: %v\n%s", err, out)
		}
		if !regexp.MustCompile(`(?i)tokens?\b.*\b15\b`).Match(out) {
			t.Errorf("portico usage shows no token counts:\n%s", out)
		}
	})

	t.Run("token limit", func(t *testing.T) {
		// The budget is per UTC minute: start well inside one.
		if s := time.Now().UTC().Second(); s > 48 {
			time.Sleep(time.Duration(61-s) * time.Second)
		}
		// Each request costs 3 + 5 = 8 tokens of a 30-token budget: the
		// fourth crosses it (and is allowed to finish), the fifth is refused.
		var codes []int
		var retryAfter string
		for range 5 {
			resp, _ := do(t, chat(tightKey, jsonChat))
			codes = append(codes, resp.StatusCode)
			retryAfter = resp.Header.Get("Retry-After")
		}
		if fmt.Sprint(codes) != "[200 200 200 200 429]" {
			t.Fatalf("statuses %v, want [200 200 200 200 429]", codes)
		}
		if n, err := strconv.Atoi(retryAfter); err != nil || n < 1 || n > 60 {
			t.Errorf("Retry-After %q, want 1..60 s (the next minute)", retryAfter)
		}
		if u := keyUsage(t, in, "tight"); u.Tokens.Minute.Total != 32 || u.Tokens.Minute.Limit != 30 {
			t.Errorf("minute tokens %+v, want total 32 of 30", u.Tokens.Minute)
		}
		// The other key's budget is untouched.
		if resp, body := do(t, chat(demoKey, jsonChat)); resp.StatusCode != 200 {
			t.Errorf("demo key: %d %s", resp.StatusCode, body)
		}
	})

	t.Run("metrics", func(t *testing.T) {
		_, body := get(t, in.console+"/metrics")
		re := regexp.MustCompile(`(?m)^portico_ai_tokens_total\{[^}]*type="completion"[^}]*\} (\d+)`)
		m := re.FindStringSubmatch(body)
		if m == nil {
			t.Fatalf("no portico_ai_tokens_total completion series in /metrics:\n%s", grepLines(body, "portico_ai"))
		}
		if n, _ := strconv.Atoi(m[1]); n < 30 {
			t.Errorf("completion tokens %s, want at least 30:\n%s", m[1], grepLines(body, "portico_ai"))
		}
	})

	t.Run("concurrency queue", func(t *testing.T) {
		// maxConcurrency 1, maxQueue 1, each stream takes about 0.8 s: of
		// four requests at once, one runs, one waits, two are refused.
		const stream = `{"model":"m","stream":true,"messages":[{"role":"user","content":"x"}]}`
		type result struct {
			code       int
			retryAfter string
		}
		results := make(chan result, 4)
		var wg sync.WaitGroup
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				resp, err := http.DefaultClient.Do(chat(demoKey, stream))
				if err != nil {
					results <- result{code: -1}
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				results <- result{resp.StatusCode, resp.Header.Get("Retry-After")}
			}()
		}
		wg.Wait()
		close(results)
		counts := map[int]int{}
		for r := range results {
			counts[r.code]++
			if r.code == 429 {
				if n, err := strconv.Atoi(r.retryAfter); err != nil || n < 1 {
					t.Errorf("429 with Retry-After %q", r.retryAfter)
				}
			}
		}
		if counts[200] != 2 || counts[429] != 2 {
			t.Errorf("statuses %v, want 2 x 200 and 2 x 429", counts)
		}
	})

	t.Run("browser EventSource", func(t *testing.T) {
		browserEventSource(t, ep+"/v1/stream?q=browser&delay=50")
	})

	t.Run("failover to the backup", func(t *testing.T) {
		primary.Close()
		for i := range 2 {
			resp, body := do(t, chat(demoKey, jsonChat))
			if resp.StatusCode != 200 || !strings.Contains(body, `"model":"backup-model"`) {
				t.Errorf("request %d with the primary down: %d %s", i, resp.StatusCode, body)
			}
		}
	})

	// The stage's access log has the tokens of each metered request.
	in.stop(t)
	b, err := os.ReadFile(filepath.Join(filepath.Dir(specFile), "access.log"))
	if err != nil {
		t.Fatal(err)
	}
	var metered int
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var rec struct {
			RouteKey         string `json:"routeKey"`
			Status           int    `json:"status"`
			PromptTokens     int64  `json:"promptTokens"`
			CompletionTokens int64  `json:"completionTokens"`
			Model            string `json:"model"`
		}
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("access log line %q: %v", line, err)
		}
		if rec.RouteKey == "POST /v1/chat/completions" && rec.Status == 200 && rec.CompletionTokens == 5 && rec.Model != "" {
			metered++
		}
	}
	if metered < 8 {
		t.Errorf("%d access log records with tokens, want at least 8:\n%s", metered, b)
	}
}

// keyUsage reads an API key's usage from the management endpoint.
func keyUsage(t *testing.T, in *instance, key string) apikey.Usage {
	t.Helper()
	resp, err := in.client(t).Get(in.aws + apikey.HandlerPrefix + "/" + key + "/usage")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var u apikey.Usage
	if resp.StatusCode != 200 || json.Unmarshal(body, &u) != nil {
		t.Fatalf("usage of %s: %d %s", key, resp.StatusCode, body)
	}
	return u
}

func grepLines(s, substr string) string {
	var keep []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, substr) {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}

// browserEventSource loads a page in headless Chromium whose script opens
// an EventSource on streamURL (another origin: CORS applies) and appends
// each message to the DOM, then checks the streamed tokens are there.
func browserEventSource(t *testing.T, streamURL string) {
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		testtool.Missing(t, "chromium", "not installed")
	}
	page := `<!doctype html><html><body><ol id="out"></ol><script>
const out = document.getElementById('out');
const es = new EventSource(` + strconv.Quote(streamURL) + `);
es.onmessage = (e) => { const li = document.createElement('li'); li.textContent = e.data; out.appendChild(li); };
es.addEventListener('done', () => { es.close(); document.body.dataset.state = 'done'; });
es.onerror = () => { es.close(); document.body.dataset.state = 'error'; };
</script></body></html>`
	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, page)
	}))
	defer site.Close()

	dom := runChromium(t, chromium, "--virtual-time-budget=5000", "--dump-dom", site.URL)
	for _, want := range []string{`data-state="done"`, "<li>You</li>", "<li>browser.</li>", "<li>time.</li>"} {
		if !strings.Contains(dom, want) {
			t.Errorf("DOM lacks %s:\n%s", want, dom)
		}
	}
}
