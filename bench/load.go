package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"time"
)

// load describes a closed-loop load: Concurrency workers, each sending the
// next request as soon as the previous one is answered, for Duration.
type load struct {
	URL, Method string
	Body        []byte
	Header      http.Header // added to every request
	Concurrency int
	Duration    time.Duration
	// Check rejects a response that is not a success; nil accepts any 2xx.
	Check func(*http.Response) error
	// Sign, when set, signs every request (Portico's AWS endpoint wants
	// SigV4); see porticoSigner.
	Sign func(*http.Request) error
	// TLS is the client's TLS configuration for https URLs (nil: system
	// roots).
	TLS *tls.Config
}

// loadResult holds the latency of every successful request, sorted.
type loadResult struct {
	Requests, Errors int64
	Elapsed          time.Duration
	Latencies        []time.Duration
	FirstErr         error
}

// runLoad runs l with Go's HTTP client over keep-alive connections. It
// records the latency of every request (no sampling).
func runLoad(ctx context.Context, l load) loadResult {
	tr := &http.Transport{MaxIdleConnsPerHost: l.Concurrency, MaxConnsPerHost: l.Concurrency, DisableCompression: true, TLSClientConfig: l.TLS}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	ctx, cancel := context.WithTimeout(ctx, l.Duration)
	defer cancel()
	var (
		mu  sync.Mutex
		res loadResult
		wg  sync.WaitGroup
	)
	start := time.Now()
	for range l.Concurrency {
		wg.Go(func() {
			lat := make([]time.Duration, 0, 4096)
			var errs int64
			var first error
			for ctx.Err() == nil {
				t0 := time.Now()
				err := doOnce(ctx, client, l)
				if ctx.Err() != nil {
					break // cut off by the end of the run, not an error
				}
				if err != nil {
					errs++
					if first == nil {
						first = err
					}
					continue
				}
				lat = append(lat, time.Since(t0))
			}
			mu.Lock()
			res.Latencies = append(res.Latencies, lat...)
			res.Errors += errs
			if res.FirstErr == nil {
				res.FirstErr = first
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	res.Elapsed = time.Since(start)
	res.Requests = int64(len(res.Latencies))
	slices.Sort(res.Latencies)
	return res
}

func doOnce(ctx context.Context, c *http.Client, l load) error {
	var body io.Reader
	if l.Body != nil {
		body = bytes.NewReader(l.Body)
	}
	req, err := http.NewRequestWithContext(ctx, l.Method, l.URL, body)
	if err != nil {
		return err
	}
	for k, vs := range l.Header {
		req.Header[k] = vs
	}
	if l.Sign != nil {
		if err := l.Sign(req); err != nil {
			return err
		}
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil {
		return err
	}
	if l.Check != nil {
		return l.Check(resp)
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: status %d", l.Method, l.URL, resp.StatusCode)
	}
	return nil
}

// invokeCheck accepts a 200 without X-Amz-Function-Error.
func invokeCheck(resp *http.Response) error {
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("invoke: status %d", resp.StatusCode)
	}
	if fe := resp.Header.Get("X-Amz-Function-Error"); fe != "" {
		return fmt.Errorf("invoke: function error %s", fe)
	}
	return nil
}

// once sends one request and returns its latency.
func once(ctx context.Context, l load) (time.Duration, error) {
	tr := &http.Transport{DisableCompression: true, TLSClientConfig: l.TLS}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: 60 * time.Second}
	t0 := time.Now()
	err := doOnce(ctx, c, l)
	return time.Since(t0), err
}
