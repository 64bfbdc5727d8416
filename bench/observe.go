package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"
)

const caseObserve = "small GET, concurrency 64, observability off vs on"

// otlpSink is an OTLP/HTTP receiver that reads and discards every export
// and answers an empty success.
type otlpSink struct {
	srv     *http.Server
	url     string
	exports atomic.Int64
}

func startOTLPSink(cl *cleanups) (*otlpSink, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("otlp sink: %w", err)
	}
	s := &otlpSink{url: "http://" + ln.Addr().String()}
	s.srv = &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		s.exports.Add(1)
		w.Header().Set("Content-Type", "application/x-protobuf")
		w.WriteHeader(http.StatusOK)
	})}
	go func() { _ = s.srv.Serve(ln) }()
	cl.push(func() { _ = s.srv.Close() })
	return s, nil
}

// observeSpec is gatewaySpec with the account throttle raised and, when
// logFile is set, the stage's access log written there.
func observeSpec(upstream, logFile string) string {
	spec := gatewaySpec(upstream) // the account throttle is raised there
	if logFile != "" {
		spec = strings.Replace(spec, "$default: {autoDeploy: true}",
			fmt.Sprintf("$default:\n        autoDeploy: true\n        accessLogSettings: {destination: %q}", logFile), 1)
	}
	return spec
}

func (h *harness) observe(ctx context.Context) (*Scenario, error) {
	s := &Scenario{ID: "observe", Title: "Gateway with access logs, metrics and tracing on vs off"}
	if h.porticoBin == "" {
		return s, errUnavailable{"the portico binary (" + h.porticoWhy + ")"}
	}
	up, err := start(h.cl, h.work, h.upstreamBin)
	if err != nil {
		return s, err
	}
	upURL, err := up.waitListening(ctx)
	if err != nil {
		return s, err
	}
	sink, err := startOTLPSink(h.cl)
	if err != nil {
		return s, err
	}
	useWrk := h.peers.wrk != ""
	tool := "wrk (1 thread)"
	if !useWrk {
		tool = "the harness's Go load generator (wrk: " + h.peers.why["wrk"] + ")"
	}
	s.Notes = append(s.Notes,
		"Two `portico up` instances serve the same HTTP_PROXY route to the same upstream (bench/cmd/upstream). `off` (baseline): no stage access log, no --otlp-endpoint, no admin listener. "+
			"`on`: the stage's default JSON access log to a file, traces exported with --otlp-endpoint to an OTLP/HTTP sink in the harness that discards them, the admin listener (/metrics) up. "+
			"Prometheus metrics are recorded in both (Portico has no switch to turn them off). The account throttle is raised out of the way in both.",
		"Load: "+tool+". CPU/req is the gateway process alone (the sink runs in the harness).")
	offSpec := filepath.Join(h.work, "observe-off", "portico.yaml")
	onSpec := filepath.Join(h.work, "observe-on", "portico.yaml")
	if err := writeFile(offSpec, observeSpec(upURL, "")); err != nil {
		return s, err
	}
	if err := writeFile(onSpec, observeSpec(upURL, filepath.Join(h.work, "observe-on", "access.log"))); err != nil {
		return s, err
	}
	off, err := startPortico(ctx, h.cl, h.porticoBin, offSpec, "--admin-listen", "")
	if err != nil {
		return s, err
	}
	on, err := startPortico(ctx, h.cl, h.porticoBin, onSpec, "--otlp-endpoint", sink.url)
	if err != nil {
		return s, err
	}
	var ts []target
	for _, p := range []struct {
		name string
		pt   *portico
	}{{"off", off}, {"on", on}} {
		ep, err := h.endpoint(p.pt)
		if err != nil {
			return s, err
		}
		ts = append(ts, target{name: p.name, load: load{URL: ep + "/proxy/small", Method: http.MethodGet}, pid: p.pt.pid(), wrk: useWrk})
	}
	c := &Case{Name: caseObserve, Baseline: "off", Metrics: []string{mRPS, mP50, mP99, mCPU, mPeak}}
	if err := h.runCase(ctx, s.ID, c, 64, ts); err != nil {
		return s, err
	}
	time.Sleep(6 * time.Second) // the batch exporter's interval is 5 s
	c.Notes = append(c.Notes, fmt.Sprintf("the OTLP sink received %d export requests (checked after the last round)", sink.exports.Load()))
	s.Cases = append(s.Cases, c)
	return s, nil
}
