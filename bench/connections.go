package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"time"
)

const (
	caseConns = "10 000 idle keep-alive connections"
	idleConns = 10000
)

// raiseNoFile lifts this process's open-file limit (inherited by the
// servers it starts afterwards) to at least n, within the hard limit.
func raiseNoFile(n uint64) error {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return fmt.Errorf("getrlimit: %w", err)
	}
	if lim.Cur >= n {
		return nil
	}
	if lim.Max < n {
		return fmt.Errorf("open-file hard limit %d < %d", lim.Max, n)
	}
	lim.Cur = n
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return fmt.Errorf("setrlimit: %w", err)
	}
	return nil
}

// openIdle opens n connections to addr, sends one GET path on each and
// reads its answer, leaving them idle and open; it returns them.
func openIdle(ctx context.Context, addr, path string, n int) ([]net.Conn, error) {
	conns := make([]net.Conn, 0, n)
	var d net.Dialer
	req := []byte("GET " + path + " HTTP/1.1\r\nHost: " + addr + "\r\n\r\n")
	for i := range n {
		c, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			closeAll(conns)
			return nil, fmt.Errorf("connection %d: %w", i+1, err)
		}
		conns = append(conns, c)
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := c.Write(req); err != nil {
			closeAll(conns)
			return nil, fmt.Errorf("connection %d: %w", i+1, err)
		}
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			closeAll(conns)
			return nil, fmt.Errorf("connection %d: %w", i+1, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			closeAll(conns)
			return nil, fmt.Errorf("connection %d: status %d", i+1, resp.StatusCode)
		}
		_ = c.SetDeadline(time.Time{})
	}
	return conns, nil
}

func closeAll(cs []net.Conn) {
	for _, c := range cs {
		c.Close()
	}
}

func (h *harness) connections(ctx context.Context) (*Scenario, error) {
	s := &Scenario{ID: "connections", Title: "Scale: 10 000 idle keep-alive connections (memory per connection)"}
	if h.porticoBin == "" {
		return s, errUnavailable{"the portico binary (" + h.porticoWhy + ")"}
	}
	if err := raiseNoFile(idleConns + 2000); err != nil {
		return s, errUnavailable{"an open-file limit above " + fmt.Sprint(idleConns+2000) + " (" + err.Error() + ")"}
	}
	s.Notes = append(s.Notes, "Each process (harness and proxy) gets an open-file limit of 12 000. The harness opens 10 000 connections, sends one small GET on each (answered by the upstream through the proxy) and leaves them idle. "+
		"Figure: the proxy process's VmRSS 1 s after the last one minus VmRSS before the first, per connection. Baseline: a stock httputil.ReverseProxy. "+
		"(nginx is left out: its configuration here allows 4 096 connections per worker.)")
	_, upURL, rp, rpURL, err := h.upstreamAndRevproxy(ctx, h.upstreamBin)
	if err != nil {
		return s, err
	}
	pt, ep, err := h.porticoInFront(ctx, "connections", upURL)
	if err != nil {
		return s, err
	}
	type contender struct {
		name, url, path string
		pid             int
	}
	cs := []contender{{"revproxy", rpURL, "/small", rp.pid()}, {"portico", ep, "/proxy/small", pt.pid()}}
	c := &Case{Name: caseConns, Baseline: "revproxy", Metrics: []string{mPerConn, mDeltaKB}}
	for round := range h.rounds {
		for _, ct := range cs {
			h.logf("  connections / %s, round %d", ct.name, round+1)
			before, err := readStatusKB(ct.pid, "VmRSS")
			if err != nil {
				return s, err
			}
			conns, err := openIdle(ctx, strings.TrimPrefix(ct.url, "http://"), ct.path, idleConns)
			if err != nil {
				return s, fmt.Errorf("%s: %w", ct.name, err)
			}
			time.Sleep(time.Second)
			after, err := readStatusKB(ct.pid, "VmRSS")
			closeAll(conns)
			if err != nil {
				return s, err
			}
			sr := c.series(ct.name)
			sr.add(mPerConn, perStream(before, after, idleConns))
			sr.add(mDeltaKB, float64(after-before))
			time.Sleep(500 * time.Millisecond)
		}
	}
	s.Cases = append(s.Cases, c)
	return s, nil
}
