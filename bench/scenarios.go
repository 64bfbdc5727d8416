package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Case names the goals refer to.
const (
	caseSmall1   = "small GET, concurrency 1"
	caseSmall64  = "small GET, concurrency 64"
	caseBig1     = "1 MiB POST, concurrency 1"
	caseBig64    = "1 MiB POST, concurrency 64"
	caseGoInvoke = "warm Go echo via the Invoke API, concurrency 1"
	caseScaling  = "Portico: one Go function at concurrency 1, 2, 4, 8"
	caseRoute    = "Go echo via the Invoke API vs behind a GET route (AWS_PROXY), concurrency 1"
	caseRuntimes = "warm echo per runtime via the Invoke API, concurrency 1"
	caseGoCold   = "Go (provided.al2023)"
	casePyCold   = "Python"
	caseNodeCold = "Node.js"
	caseIdle     = "idle memory"
)

// gatewaySpec routes /proxy/{proxy+} to upstream. The account throttle
// (AWS's default: 10 000 requests per second) is raised out of the way: at
// 64 connections the gateway goes faster than that, and cheap 429s would
// inflate its throughput.
func gatewaySpec(upstream string) string {
	return fmt.Sprintf(`account: {throttlingRateLimit: 10000000, throttlingBurstLimit: 10000000}
apis:
  bench:
    integrations:
      up: {type: HTTP_PROXY, uri: "%s/{proxy}"}
    routes:
      "ANY /proxy/{proxy+}": {integration: up}
    stages:
      $default: {autoDeploy: true}
`, upstream)
}

func writeFile(path, text string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(text), 0o644)
}

func (h *harness) endpoint(p *portico) (string, error) {
	u, ok := p.endpoints["bench $default"]
	if !ok {
		return "", fmt.Errorf("portico printed no endpoint for bench $default (got %v)", p.endpoints)
	}
	return strings.TrimRight(u, "/"), nil
}

// upstreamAndRevproxy starts an upstream program and a stock
// httputil.ReverseProxy in front of it, and returns both with their URLs.
func (h *harness) upstreamAndRevproxy(ctx context.Context, upstreamBin string) (up *proc, upURL string, rp *proc, rpURL string, err error) {
	if up, err = start(h.cl, h.work, upstreamBin); err != nil {
		return
	}
	if upURL, err = up.waitListening(ctx); err != nil {
		return
	}
	if rp, err = start(h.cl, h.work, h.revproxyBin, "-upstream", upURL); err != nil {
		return
	}
	rpURL, err = rp.waitListening(ctx)
	return
}

// porticoInFront starts Portico with the gateway spec (an HTTP_PROXY route
// to upstream under /proxy/) and returns it with its endpoint.
func (h *harness) porticoInFront(ctx context.Context, name, upstream string) (*portico, string, error) {
	spec := filepath.Join(h.work, name, "portico.yaml")
	if err := writeFile(spec, gatewaySpec(upstream)); err != nil {
		return nil, "", err
	}
	pt, err := startPortico(ctx, h.cl, h.porticoBin, spec)
	if err != nil {
		return nil, "", err
	}
	ep, err := h.endpoint(pt)
	return pt, ep, err
}

func (h *harness) gateway(ctx context.Context) (*Scenario, error) {
	s := &Scenario{ID: "gateway", Title: "Gateway overhead: HTTP_PROXY vs httputil.ReverseProxy vs nginx"}
	up, upURL, rp, rpURL, err := h.upstreamAndRevproxy(ctx, h.upstreamBin)
	if err != nil {
		return s, err
	}
	upHost := strings.TrimPrefix(upURL, "http://")
	useWrk := h.peers.wrk != ""
	tool := "wrk (1 thread; percentiles from its done hook, over every request)"
	if !useWrk {
		tool = "the harness's Go load generator (wrk: " + h.peers.why["wrk"] + ")"
	}
	s.Notes = append(s.Notes,
		"Upstream: a small Go net/http server (bench/cmd/upstream) answering 13 bytes after discarding the body. "+
			"The `direct` row is that upstream without a proxy: the floor, and the evidence that it is not the bottleneck.",
		"Baseline: nginx with `worker_processes 1`, keep-alive to the upstream (`keepalive 64`), access log off, bodies buffered in memory.",
		"`revproxy` is a stock `httputil.ReverseProxy` with its default transport (bench/cmd/revproxy).",
		"CPU/req counts only the contender's own processes (nginx: master and worker); the upstream's CPU is excluded, except in the `direct` row where it is the only process.",
		"Load: "+tool+".")
	type contender struct {
		name, base string
		pid        int
	}
	cs := []contender{{"nginx", "", 0}, {"direct", upURL, up.pid()}, {"revproxy", rpURL, rp.pid()}}
	if h.peers.nginx != "" {
		ng, ngURL, err := startNginx(ctx, h.cl, h.peers.nginx, h.work, upHost)
		if err != nil {
			return s, err
		}
		cs[0].base, cs[0].pid = ngURL, ng.pid()
	} else {
		s.Notes = append(s.Notes, "nginx: "+h.peers.why["nginx"]+"; ratios are against nothing, so none are shown.")
		cs = cs[1:]
	}
	if h.porticoBin != "" {
		if pt, ep, err := h.porticoInFront(ctx, "gateway", upURL); err != nil {
			s.Notes = append(s.Notes, "portico: failed to start: "+err.Error())
		} else {
			cs = append(cs, contender{"portico", ep + "/proxy", pt.pid()})
		}
	} else {
		s.Notes = append(s.Notes, "portico: "+h.porticoWhy)
	}
	s.Commands = []string{"wrk -t1 -c{1,64} -d" + fmt.Sprint(int(h.dur.Seconds())) + "s --timeout 5s -s bench.lua URL   # bench.lua: see wrkScript in bench/wrk.go"}
	metrics := []string{mRPS, mP50, mP99, mP999, mCPU, mPeak}
	for _, k := range []struct {
		name   string
		conc   int
		method string
		body   int
	}{
		{caseSmall1, 1, http.MethodGet, 0},
		{caseSmall64, 64, http.MethodGet, 0},
		{caseBig1, 1, http.MethodPost, 1 << 20},
		{caseBig64, 64, http.MethodPost, 1 << 20},
	} {
		c := &Case{Name: k.name, Baseline: cs[0].name, Metrics: metrics}
		var ts []target
		for _, ct := range cs {
			l := load{URL: ct.base + "/small", Method: k.method}
			if k.body > 0 {
				l.Body = make([]byte, k.body)
				l.URL = ct.base + "/upload"
			}
			ts = append(ts, target{name: ct.name, load: l, pid: ct.pid, tree: true, memTree: ct.name == "nginx", wrk: useWrk})
		}
		if err := h.runCase(ctx, s.ID, c, k.conc, ts); err != nil {
			return s, err
		}
		s.Cases = append(s.Cases, c)
	}
	return s, nil
}

// functionsSpec declares the three echo functions and GET routes to them.
func functionsSpec(goDir, pyDir, nodeDir string) string {
	return fmt.Sprintf(`functions:
  goecho: {runtime: provided.al2023, code: %q, timeout: 10, memorySize: 256}
  pyecho: {runtime: python3.12, handler: handler.main, code: %q, timeout: 10, memorySize: 256}
  nodeecho: {runtime: nodejs20.x, handler: index.handler, code: %q, timeout: 10, memorySize: 256}
apis:
  bench:
    integrations:
      gofn: {type: AWS_PROXY, function: goecho}
      pyfn: {type: AWS_PROXY, function: pyecho}
    routes:
      "GET /go": {integration: gofn}
      "GET /py": {integration: pyfn}
    stages:
      $default: {autoDeploy: true}
`, goDir, pyDir, nodeDir)
}

func (h *harness) functions(ctx context.Context) (*Scenario, error) {
	s := &Scenario{ID: "functions", Title: "Functions: warm invokes, Portico vs the Runtime Interface Emulator"}
	if h.porticoBin == "" {
		return s, errUnavailable{"the portico binary (" + h.porticoWhy + ")"}
	}
	s.Notes = append(s.Notes,
		"The Go echo (bench/cmd/goecho, aws-lambda-go `lambda.Start`, built with `-tags lambda.norpc`) is the same binary under Portico and under aws-lambda-rie.",
		"The emulator serves one invocation at a time (concurrent invocations make it fail), so it is measured at concurrency 1 only.",
		"CPU/req counts the server and its function processes; peak RSS is the server process alone, the functions' peak RSS apart.",
		"Load: the harness's Go load generator, keep-alive, closed loop, every request timed.")
	spec := filepath.Join(h.work, "functions", "portico.yaml")
	if err := writeFile(spec, functionsSpec(h.goechoDir, h.path("bench/functions/pyecho"), h.path("bench/functions/nodeecho"))); err != nil {
		return s, err
	}
	pt, err := startPortico(ctx, h.cl, h.porticoBin, spec)
	if err != nil {
		return s, err
	}
	defer pt.stop()
	ep, err := h.endpoint(pt)
	if err != nil {
		return s, err
	}
	fm := []string{mRPS, mP50, mP99, mP999, mCPU, mPeak, mFnPeak}
	ptInvoke := target{name: "portico", load: pt.invokeLoad("goecho"), pid: pt.pid(), tree: true, functions: true}

	// Portico vs RIE.
	c := &Case{Name: caseGoInvoke, Baseline: "rie", Metrics: fm}
	ts := []target{ptInvoke}
	if h.peers.rie != "" {
		rie, rieURL, err := startRIE(ctx, h.cl, h.peers.rie, filepath.Join(h.goechoDir, "bootstrap"))
		if err != nil {
			c.Notes = append(c.Notes, "rie: "+err.Error())
		} else {
			defer rie.stop()
			ts = append([]target{{name: "rie", load: invokeLoad(rieURL), pid: rie.pid(), tree: true, functions: true}}, ts...)
		}
	} else {
		c.Notes = append(c.Notes, "rie: "+h.peers.why["rie"])
	}
	if err := h.runCase(ctx, s.ID, c, 1, ts); err != nil {
		return s, err
	}
	s.Cases = append(s.Cases, c)

	// Scaling: rounds interleave c1 c2 c4 c8.
	c = &Case{Name: caseScaling, Baseline: "c1", Metrics: []string{mRPS, mP50, mP99, mCPU, mFnPeak}}
	if h.selected(s.ID, c.Name, "c8") {
		for _, n := range []int{1, 2, 4, 8} {
			if err := h.warm(ctx, ptInvoke, n); err != nil {
				return s, err
			}
		}
		for round := range h.rounds {
			for _, n := range []int{1, 2, 4, 8} {
				name := fmt.Sprintf("c%d", n)
				h.logf("  %s / scaling / %s, round %d", s.ID, name, round+1)
				if err := h.measure(ctx, ptInvoke, n, c.series(name)); err != nil {
					return s, err
				}
			}
		}
		s.Cases = append(s.Cases, c)
	}

	c = &Case{Name: caseRoute, Baseline: "invoke", Metrics: fm[:5]}
	inv := ptInvoke
	inv.name = "invoke"
	route := target{name: "route", load: load{URL: ep + "/go", Method: http.MethodGet}, pid: pt.pid(), tree: true}
	if err := h.runCase(ctx, s.ID, c, 1, []target{inv, route}); err != nil {
		return s, err
	}
	s.Cases = append(s.Cases, c)

	c = &Case{Name: caseRuntimes, Baseline: "go", Metrics: fm}
	goT := ptInvoke
	goT.name = "go"
	ts = []target{goT}
	if h.peers.python != "" {
		ts = append(ts,
			target{name: "python", load: pt.invokeLoad("pyecho"), pid: pt.pid(), tree: true, functions: true},
			target{name: "python-route", load: load{URL: ep + "/py", Method: http.MethodGet}, pid: pt.pid(), tree: true, functions: true})
	} else {
		c.Notes = append(c.Notes, "python: "+h.peers.why["python"])
	}
	if h.peers.node != "" {
		ts = append(ts, target{name: "node", load: pt.invokeLoad("nodeecho"), pid: pt.pid(), tree: true, functions: true})
	} else {
		c.Notes = append(c.Notes, "node: "+h.peers.why["node"])
	}
	c.Notes = append(c.Notes, "python-route is `GET /py` through the gateway's Lambda proxy (payload 2.0) to the same Python function.")
	if err := h.runCase(ctx, s.ID, c, 1, ts); err != nil {
		return s, err
	}
	s.Cases = append(s.Cases, c)
	return s, nil
}

// warmLatency is the median of n sequential invokes over one connection.
func warmLatency(ctx context.Context, l load, n int) (time.Duration, error) {
	l.Concurrency, l.Duration = 1, time.Hour
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	var lat []time.Duration
	for range n {
		t0 := time.Now()
		if err := doOnce(ctx, c, l); err != nil {
			return 0, err
		}
		lat = append(lat, time.Since(t0))
	}
	slices.Sort(lat)
	return lat[len(lat)/2], nil
}

// coldOnce measures one cold start: the first invoke's latency minus a warm
// invoke's.
func coldOnce(ctx context.Context, l load) (float64, error) {
	first, err := once(ctx, l)
	if err != nil {
		return 0, fmt.Errorf("first invoke: %w", err)
	}
	warm, err := warmLatency(ctx, l, 5)
	if err != nil {
		return 0, fmt.Errorf("warm invoke: %w", err)
	}
	return float64(first-warm) / float64(time.Millisecond), nil
}

func (h *harness) coldstart(ctx context.Context) (*Scenario, error) {
	s := &Scenario{ID: "coldstart", Title: "Cold starts per runtime"}
	if h.porticoBin == "" {
		return s, errUnavailable{"the portico binary (" + h.porticoWhy + ")"}
	}
	s.Notes = append(s.Notes,
		"Cold start = latency of the first invoke after a fresh `portico up` reported ready, minus the median of 5 warm invokes that follow.",
		"Baselines: for Go, the same binary's first invoke under a fresh aws-lambda-rie (same subtraction); for Python and Node.js, "+
			"the bare interpreter's start-up (`python3 -c pass`, `node -e 0`) timed in the same round — a floor no runtime can beat.")
	type rt struct {
		cs, fn, runtime, handler, dir string
		baseName                      string
		base                          func(context.Context) (float64, error)
	}
	interp := func(bin string, args ...string) func(context.Context) (float64, error) {
		return func(ctx context.Context) (float64, error) {
			t0 := time.Now()
			if out, err := exec.CommandContext(ctx, bin, args...).CombinedOutput(); err != nil {
				return 0, fmt.Errorf("%s: %w: %s", bin, err, out)
			}
			return float64(time.Since(t0)) / float64(time.Millisecond), nil
		}
	}
	var rts []rt
	goRT := rt{cs: caseGoCold, fn: "goecho", runtime: "provided.al2023", dir: h.goechoDir, baseName: "rie"}
	if h.peers.rie != "" {
		goRT.base = func(ctx context.Context) (float64, error) {
			cl := &cleanups{}
			defer cl.run()
			_, url, err := startRIE(ctx, cl, h.peers.rie, filepath.Join(h.goechoDir, "bootstrap"))
			if err != nil {
				return 0, err
			}
			return coldOnce(ctx, invokeLoad(url))
		}
	}
	rts = append(rts, goRT)
	if h.peers.python != "" {
		rts = append(rts, rt{casePyCold, "pyecho", "python3.12", "handler.main", h.path("bench/functions/pyecho"), "python3 -c pass", interp(h.peers.python, "-c", "pass")})
	}
	if h.peers.node != "" {
		rts = append(rts, rt{caseNodeCold, "nodeecho", "nodejs20.x", "index.handler", h.path("bench/functions/nodeecho"), "node -e 0", interp(h.peers.node, "-e", "0")})
	}
	cases := map[string]*Case{}
	for _, r := range rts {
		if !h.selected(s.ID, r.cs, "portico") {
			continue
		}
		c := &Case{Name: r.cs, Baseline: r.baseName, Metrics: []string{mCold}}
		if r.base == nil {
			c.Baseline = ""
			c.Notes = append(c.Notes, r.baseName+": "+h.peers.why["rie"])
		}
		cases[r.cs] = c
		s.Cases = append(s.Cases, c)
	}
	for round := range h.rounds {
		for _, r := range rts {
			c := cases[r.cs]
			if c == nil {
				continue
			}
			h.logf("  coldstart / %s, round %d", r.cs, round+1)
			if r.base != nil {
				v, err := r.base(ctx)
				if err != nil {
					return s, fmt.Errorf("%s baseline: %w", r.cs, err)
				}
				c.series(r.baseName).add(mCold, v)
			}
			handler := ""
			if r.handler != "" {
				handler = ", handler: " + r.handler
			}
			spec := filepath.Join(h.work, "cold-"+r.fn, "portico.yaml")
			if err := writeFile(spec, fmt.Sprintf("functions:\n  %s: {runtime: %s%s, code: %q, timeout: 10}\n", r.fn, r.runtime, handler, r.dir)); err != nil {
				return s, err
			}
			v, err := func() (float64, error) {
				cl := &cleanups{}
				defer cl.run()
				pt, err := startPortico(ctx, cl, h.porticoBin, spec)
				if err != nil {
					return 0, err
				}
				return coldOnce(ctx, pt.invokeLoad(r.fn))
			}()
			if err != nil {
				return s, fmt.Errorf("%s: %w", r.cs, err)
			}
			c.series("portico").add(mCold, v)
		}
	}
	return s, nil
}
