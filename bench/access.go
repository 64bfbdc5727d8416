package main

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"time"
)

// Case names of the access-control scenario.
const (
	caseAccessBench = "package benchmarks (go test -bench)"
	caseAccess1     = "GET through an open, a JWT-protected and a throttled route, concurrency 1"
	caseAccess64    = "GET through an open, a JWT-protected and a throttled route, concurrency 64"
)

// goBench runs `go test -run ^$ -bench re` on pkgs, one -count per round,
// and returns the command line and the result lines.
func (h *harness) goBench(ctx context.Context, re string, pkgs ...string) (string, []benchLine, error) {
	bt := "500ms"
	if h.short {
		bt = "100ms"
	}
	line, out, err := h.runGoBench(ctx, re, bt, pkgs...)
	if err != nil {
		return line, nil, err
	}
	lines, err := parseGoBench(out)
	return line, lines, err
}

// benchCase collects the lines whose name is a key of names into a case
// with one series per benchmark (named by names), in the order of names'
// keys as listed in order. It reports the names that had no line.
func benchCase(name string, lines []benchLine, order []string, names map[string]string) (*Case, []string) {
	c := &Case{Name: name, Metrics: []string{mOpNs}}
	for _, k := range order {
		c.series(names[k])
	}
	for _, l := range lines {
		if n, ok := names[l.Name]; ok {
			c.series(n).add(mOpNs, l.NsPerOp)
		}
	}
	var missing []string
	for _, k := range order {
		if len(c.find(names[k]).Values[mOpNs]) == 0 {
			missing = append(missing, k)
		}
	}
	return c, missing
}

// accessBenchNames maps the package benchmarks to the rows of the report.
var (
	accessBenchOrder = []string{"BenchmarkAuthorize/cached", "BenchmarkAuthorize/verify", "BenchmarkCachedDecision/simple", "BenchmarkCachedDecision/policy", "BenchmarkLocalTake"}
	accessBenchNames = map[string]string{
		"BenchmarkAuthorize/cached":      "JWT, cached token",
		"BenchmarkAuthorize/verify":      "JWT, new token (warm key cache, RS256 verify)",
		"BenchmarkCachedDecision/simple": "Lambda authorizer, cached simple response",
		"BenchmarkCachedDecision/policy": "Lambda authorizer, cached policy",
		"BenchmarkLocalTake":             "throttle, local Take",
	}
)

// accessSpec serves upstream behind an open, a JWT and a throttled route;
// the account limit is raised so that only the throttled route's own
// bucket (never empty at these rates) differs.
func accessSpec(upstream, issuer string) string {
	return fmt.Sprintf(`account: {throttlingRateLimit: 10000000, throttlingBurstLimit: 10000000}
apis:
  bench:
    authorizers:
      users:
        type: JWT
        identitySource: [$request.header.Authorization]
        jwtConfiguration: {issuer: %q, audience: [bench]}
    integrations:
      up: {type: HTTP_PROXY, uri: "%s/{proxy}"}
    routes:
      "GET /open/{proxy+}": {integration: up}
      "GET /jwt/{proxy+}": {integration: up, authorizationType: JWT, authorizer: users}
      "GET /limited/{proxy+}": {integration: up}
    stages:
      $default:
        autoDeploy: true
        routeSettings:
          "GET /limited/{proxy+}": {throttlingRateLimit: 10000000, throttlingBurstLimit: 10000000}
`, issuer, upstream)
}

func (h *harness) access(ctx context.Context) (*Scenario, error) {
	s := &Scenario{ID: "access", Title: "Access control overhead: JWT, Lambda authorizer cache, throttle"}
	s.Notes = append(s.Notes,
		"Package benchmarks: the authorizers' and the throttle's own Go benchmarks, one -count per round; absolute figures (the goals are absolute).",
		"HTTP: one `portico up` serving the same upstream behind `GET /open/…` (baseline), `GET /jwt/…` (JWT authorizer, RS256 token from a development issuer the harness runs on 127.0.0.1, key set fetched once) and `GET /limited/…` (a route throttle that never runs dry). The account throttle is raised out of the way for all three. Load: the harness's Go load generator (it sends the Authorization header).")
	if h.selected(s.ID, caseAccessBench, "go test") {
		line, lines, err := h.goBench(ctx, "^(BenchmarkAuthorize|BenchmarkCachedDecision|BenchmarkLocalTake)$",
			"./internal/authz/jwt/", "./internal/authz/lambdaauth/", "./internal/throttle/")
		s.Commands = append(s.Commands, line)
		if err != nil {
			return s, err
		}
		c, missing := benchCase(caseAccessBench, lines, accessBenchOrder, accessBenchNames)
		if len(missing) > 0 {
			c.Notes = append(c.Notes, "no result line for "+strings.Join(missing, ", "))
		}
		s.Cases = append(s.Cases, c)
	}
	if h.porticoBin == "" {
		s.Notes = append(s.Notes, "HTTP cases: "+h.porticoWhy)
		return s, nil
	}
	if !h.selected(s.ID, caseAccess1, "jwt") && !h.selected(s.ID, caseAccess1, "throttled") {
		return s, nil
	}
	up, err := start(h.cl, h.work, h.upstreamBin)
	if err != nil {
		return s, err
	}
	upURL, err := up.waitListening(ctx)
	if err != nil {
		return s, err
	}
	port, err := freePort()
	if err != nil {
		return s, err
	}
	iss, err := start(h.cl, h.work, h.issuerBin, "-addr", fmt.Sprintf("127.0.0.1:%d", port), "-aud", "bench")
	if err != nil {
		return s, err
	}
	var issuer, token string
	if _, err := iss.waitLine(ctx, 15*time.Second, func(l string) bool {
		if v, ok := strings.CutPrefix(l, "issuer "); ok {
			issuer = v
		}
		if v, ok := strings.CutPrefix(l, "token "); ok {
			token = v
		}
		return token != ""
	}); err != nil {
		return s, fmt.Errorf("development issuer: %w", err)
	}
	if err := iss.waitTCP(ctx, strings.TrimPrefix(issuer, "http://"), 15*time.Second); err != nil {
		return s, err
	}
	spec := filepath.Join(h.work, "access", "portico.yaml")
	if err := writeFile(spec, accessSpec(upURL, issuer)); err != nil {
		return s, err
	}
	pt, err := startPortico(ctx, h.cl, h.porticoBin, spec)
	if err != nil {
		return s, err
	}
	ep, err := h.endpoint(pt)
	if err != nil {
		return s, err
	}
	auth := http.Header{"Authorization": {"Bearer " + token}}
	ts := []target{
		{name: "open", load: load{URL: ep + "/open/small", Method: http.MethodGet}, pid: pt.pid()},
		{name: "jwt", load: load{URL: ep + "/jwt/small", Method: http.MethodGet, Header: auth}, pid: pt.pid()},
		{name: "throttled", load: load{URL: ep + "/limited/small", Method: http.MethodGet}, pid: pt.pid()},
	}
	for _, k := range []struct {
		name string
		conc int
	}{{caseAccess1, 1}, {caseAccess64, 64}} {
		c := &Case{Name: k.name, Baseline: "open", Metrics: []string{mRPS, mP50, mP99, mCPU}}
		if err := h.runCase(ctx, s.ID, c, k.conc, ts); err != nil {
			return s, err
		}
		s.Cases = append(s.Cases, c)
	}
	return s, nil
}
