// Command benchserve is the manual benchmark helper of docs/http-proxy.md.
// It runs either a small upstream or an HTTP_PROXY integration in front of
// one, each on 127.0.0.1, until interrupted:
//
//	go run ./internal/integration/httpproxy/testdata/benchserve -mode upstream -addr 127.0.0.1:18080
//	go run ./internal/integration/httpproxy/testdata/benchserve -mode proxy -addr 127.0.0.1:18082 -upstream http://127.0.0.1:18080
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/portico-dev/portico/internal/edge"
	"github.com/portico-dev/portico/internal/integration"
	"github.com/portico-dev/portico/internal/integration/httpproxy"
)

func main() {
	mode := flag.String("mode", "upstream", "upstream, proxy or reverseproxy")
	addr := flag.String("addr", "127.0.0.1:18080", "listen address (loopback)")
	upstream := flag.String("upstream", "http://127.0.0.1:18080", "upstream base URL (proxy mode)")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile to this file until interrupted")
	flag.Parse()
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "benchserve:", err)
			os.Exit(1)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(os.Stderr, "benchserve:", err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}
	if err := run(*mode, *addr, *upstream); err != nil {
		pprof.StopCPUProfile()
		fmt.Fprintln(os.Stderr, "benchserve:", err)
		os.Exit(1)
	}
}

func run(mode, addr, upstream string) error {
	var h http.Handler
	switch mode {
	case "upstream":
		h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body)
			w.Header().Set("Content-Type", "text/plain")
			io.WriteString(w, "hello, world\n")
		})
	case "proxy":
		p, err := httpproxy.New(httpproxy.Config{URI: upstream + "/{proxy}"})
		if err != nil {
			return err
		}
		defer p.Close()
		h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, err := io.ReadAll(io.LimitReader(r.Body, 10<<20))
			if err != nil {
				edge.Render(w, edge.New(edge.BadRequest, err))
				return
			}
			ip, _, _ := net.SplitHostPort(r.RemoteAddr)
			ir := &integration.Request{
				HTTP: r, Body: body, RawPath: r.URL.EscapedPath(), Path: r.URL.Path,
				RouteKey: "ANY /{proxy+}", PathParameters: map[string]string{"proxy": r.URL.Path[1:]},
				Time: time.Now(), SourceIP: ip, DomainName: "localhost",
			}
			ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
			defer cancel()
			if err := p.Serve(ctx, w, ir); err != nil {
				edge.Render(w, err) // benchmark helper: the proxy only fails before writing here
			}
		})
	case "reverseproxy": // the stock baseline
		u, err := url.Parse(upstream)
		if err != nil {
			return err
		}
		h = httputil.NewSingleHostReverseProxy(u)
	default:
		return fmt.Errorf("unknown mode %q", mode)
	}
	srv := &http.Server{Addr: addr, Handler: h}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	select {
	case err := <-errc:
		return err
	case <-sig:
		return srv.Close()
	}
}
