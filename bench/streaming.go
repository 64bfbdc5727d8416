package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Case names of the streaming scenario.
const (
	caseSSEFlood = "10 000 SSE events, as fast as the client reads"
	caseSSEPaced = "10 000 SSE events, one every 100 µs"
	caseSSEIdle  = "500 idle SSE streams held open"
	sseEvents    = 10000
	sseIdle      = 500
)

// readEvents reads an SSE body of "data: T" events, T the sender's wall
// clock in Unix nanoseconds, and returns the count and, per event, now()
// at arrival minus T, sorted. Comments and other fields are skipped.
func readEvents(r io.Reader, now func() int64) (int, []time.Duration, error) {
	sc := bufio.NewScanner(r)
	var lat []time.Duration
	for sc.Scan() {
		v, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		t, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return len(lat), nil, fmt.Errorf("sse: event %d: %w", len(lat)+1, err)
		}
		lat = append(lat, time.Duration(now()-t))
	}
	if err := sc.Err(); err != nil {
		return len(lat), nil, fmt.Errorf("sse: after %d events: %w", len(lat), err)
	}
	slices.Sort(lat)
	return len(lat), lat, nil
}

// sseRound reads one stream of n events from base and adds its figures.
func sseRound(ctx context.Context, base string, n int, every time.Duration, s *Series) error {
	url := fmt.Sprintf("%s/events?n=%d", base, n)
	if every > 0 {
		url += "&every=" + every.String()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	tr := &http.Transport{DisableCompression: true}
	defer tr.CloseIdleConnections()
	t0 := time.Now()
	resp, err := (&http.Client{Transport: tr, Timeout: 2 * time.Minute}).Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: status %d", url, resp.StatusCode)
	}
	got, lat, err := readEvents(resp.Body, func() int64 { return time.Now().UnixNano() })
	if err != nil {
		return err
	}
	if got != n {
		return fmt.Errorf("%s: %d events, want %d", url, got, n)
	}
	us := func(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
	s.add(mEPS, float64(n)/time.Since(t0).Seconds())
	s.add(mP50, us(percentile(lat, 50)))
	s.add(mP99, us(percentile(lat, 99)))
	return nil
}

// holdStreams opens n idle streams to url, waits for each one's first
// bytes, and returns a function that closes them all.
func holdStreams(ctx context.Context, url string, n int) (func(), error) {
	tr := &http.Transport{MaxConnsPerHost: 0, MaxIdleConnsPerHost: n, DisableCompression: true}
	ctx, cancel := context.WithCancel(ctx)
	var bodies []io.Closer
	closeAll := func() {
		cancel()
		for _, b := range bodies {
			b.Close()
		}
		tr.CloseIdleConnections()
	}
	c := &http.Client{Transport: tr}
	for i := range n {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			closeAll()
			return nil, err
		}
		resp, err := c.Do(req)
		if err != nil {
			closeAll()
			return nil, fmt.Errorf("stream %d: %w", i+1, err)
		}
		bodies = append(bodies, resp.Body)
		if resp.StatusCode != http.StatusOK {
			closeAll()
			return nil, fmt.Errorf("stream %d: status %d", i+1, resp.StatusCode)
		}
		if _, err := resp.Body.Read(make([]byte, 16)); err != nil {
			closeAll()
			return nil, fmt.Errorf("stream %d: first bytes: %w", i+1, err)
		}
	}
	return closeAll, nil
}

// perStream is the RSS (kB) added per stream, in bytes.
func perStream(beforeKB, afterKB int64, n int) float64 {
	return float64(afterKB-beforeKB) * 1024 / float64(n)
}

func (h *harness) streaming(ctx context.Context) (*Scenario, error) {
	s := &Scenario{ID: "streaming", Title: "Streaming: SSE through an HTTP_PROXY route"}
	if h.porticoBin == "" {
		return s, errUnavailable{"the portico binary (" + h.porticoWhy + ")"}
	}
	s.Notes = append(s.Notes,
		"Upstream: bench/cmd/sse writes each event as `data: T` (T its wall clock in ns) and flushes it. The client takes arrival − T on the same clock; p50/p99 are over the 10 000 events of a round. Baseline: `direct`, the upstream without a proxy; `revproxy` is a stock httputil.ReverseProxy (it flushes event streams at once).",
		"Flood: the upstream writes as fast as the client reads, so latency there includes queueing in socket buffers; the paced case is the per-event added latency.",
		"Idle streams: VmRSS of the proxy process before and 1 s after opening 500 streams (each has received its first bytes), divided by 500.")
	up, upURL, rp, rpURL, err := h.upstreamAndRevproxy(ctx, h.sseBin)
	if err != nil {
		return s, err
	}
	pt, ep, err := h.porticoInFront(ctx, "streaming", upURL)
	if err != nil {
		return s, err
	}
	type contender struct {
		name, base string
		pid        int
	}
	cs := []contender{{"direct", upURL, up.pid()}, {"revproxy", rpURL, rp.pid()}, {"portico", ep + "/proxy", pt.pid()}}
	for _, k := range []struct {
		name  string
		every time.Duration
	}{{caseSSEFlood, 0}, {caseSSEPaced, 100 * time.Microsecond}} {
		c := &Case{Name: k.name, Baseline: "direct", Metrics: []string{mEPS, mP50, mP99}}
		for round := range h.rounds {
			for _, ct := range cs {
				if !h.selected(s.ID, c.Name, ct.name) && ct.name != c.Baseline {
					continue
				}
				h.logf("  streaming / %s / %s, round %d", k.name, ct.name, round+1)
				if err := sseRound(ctx, ct.base, sseEvents, k.every, c.series(ct.name)); err != nil {
					return s, fmt.Errorf("%s: %s: %w", k.name, ct.name, err)
				}
			}
		}
		s.Cases = append(s.Cases, c)
	}
	c := &Case{Name: caseSSEIdle, Baseline: "revproxy", Metrics: []string{mStreamB, mDeltaKB}}
	for round := range h.rounds {
		for _, ct := range cs[1:] {
			h.logf("  streaming / idle / %s, round %d", ct.name, round+1)
			before, err := readStatusKB(ct.pid, "VmRSS")
			if err != nil {
				return s, err
			}
			closeAll, err := holdStreams(ctx, ct.base+"/idle", sseIdle)
			if err != nil {
				return s, fmt.Errorf("idle streams: %s: %w", ct.name, err)
			}
			time.Sleep(time.Second)
			after, err := readStatusKB(ct.pid, "VmRSS")
			closeAll()
			if err != nil {
				return s, err
			}
			sr := c.series(ct.name)
			sr.add(mStreamB, perStream(before, after, sseIdle))
			sr.add(mDeltaKB, float64(after-before))
			time.Sleep(200 * time.Millisecond) // let the closes land
		}
	}
	s.Cases = append(s.Cases, c)
	return s, nil
}
