package websocket

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/coder/websocket"
	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
)

// reportLatencies reports p50 and p99 of ds in microseconds.
func reportLatencies(b *testing.B, ds []time.Duration) {
	slices.Sort(ds)
	p := func(q float64) float64 { return float64(ds[int(q*float64(len(ds)-1))]) / 1e3 }
	b.ReportMetric(p(0.50), "p50-µs")
	b.ReportMetric(p(0.99), "p99-µs")
}

// BenchmarkDelivery: one 64-byte message from the server side to a
// client, measured until the client has read it. direct: the server
// writes the frame with gobwas/ws (the server library's floor) through a
// buffered writer, one write per message; post_to_connection: a
// SigV4-signed POST /@connections/{id} to the Handler, as the SDKs send
// it (signing included), then the same read. The client is
// coder/websocket in both.
func BenchmarkDelivery(b *testing.B) {
	msg := []byte(strings.Repeat("t", 64))
	b.Run("direct", func(b *testing.B) {
		conns := make(chan net.Conn, 1)
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c, _, _, err := ws.UpgradeHTTP(r, w)
			if err != nil {
				return
			}
			conns <- c
		}))
		defer srv.Close()
		client, _, err := websocket.Dial(context.Background(), "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
		if err != nil {
			b.Fatal(err)
		}
		defer client.CloseNow()
		server := <-conns
		defer server.Close()
		bw := bufio.NewWriter(server)
		ctx := context.Background()
		ds := make([]time.Duration, 0, b.N)
		b.ResetTimer()
		for range b.N {
			t0 := time.Now()
			if err := ws.WriteFrame(bw, ws.NewTextFrame(msg)); err != nil {
				b.Fatal(err)
			}
			if err := bw.Flush(); err != nil {
				b.Fatal(err)
			}
			if _, _, err := client.Read(ctx); err != nil {
				b.Fatal(err)
			}
			ds = append(ds, time.Since(t0))
		}
		reportLatencies(b, ds)
	})
	b.Run("post_to_connection", func(b *testing.B) {
		inv := &fakeInvoker{events: make(chan *Event, 1)}
		reg := &Registry{}
		h, err := New(Config{APIID: "abc123", Region: region, AccountID: account, RouteSelection: []string{"action"},
			Stages: map[string]*Stage{"dev": {Name: "dev", Routes: map[string]*Route{}}}},
			Deps{Invoker: inv, Registry: reg, Principals: principals(b)})
		if err != nil {
			b.Fatal(err)
		}
		srv := httptest.NewServer(h)
		defer srv.Close()
		client, _, err := websocket.Dial(context.Background(), "ws"+strings.TrimPrefix(srv.URL, "http")+"/dev", nil)
		if err != nil {
			b.Fatal(err)
		}
		defer client.CloseNow()
		var id string
		for _, c := range reg.List() {
			id = c.ID
		}
		url := srv.URL + "/dev/@connections/" + id
		sum := sha256.Sum256(msg)
		hash := hex.EncodeToString(sum[:])
		signer := v4.NewSigner()
		creds := aws.Credentials{AccessKeyID: adminKey.AccessKeyID, SecretAccessKey: adminKey.SecretAccessKey}
		ctx := context.Background()
		ds := make([]time.Duration, 0, b.N)
		b.ResetTimer()
		for range b.N {
			t0 := time.Now()
			req, _ := http.NewRequest("POST", url, strings.NewReader(string(msg)))
			if err := signer.SignHTTP(ctx, creds, req, hash, ManageService, region, t0); err != nil {
				b.Fatal(err)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Fatalf("status %d", resp.StatusCode)
			}
			if _, _, err := client.Read(ctx); err != nil {
				b.Fatal(err)
			}
			ds = append(ds, time.Since(t0))
		}
		reportLatencies(b, ds)
	})
}

// idleConns is how many idle connections BenchmarkIdleConnections opens;
// PORTICO_WS_IDLE_CONNS overrides it.
func idleConns() int {
	if n, err := strconv.Atoi(os.Getenv("PORTICO_WS_IDLE_CONNS")); err == nil && n > 0 {
		return n
	}
	return 2000
}

// BenchmarkIdleConnections: the server-side memory (heap in use plus
// goroutine stacks, after GC) and goroutines per idle connection, with
// the clients in a child process so that only the server is measured.
// bare: a gobwas/ws server that upgrades and blocks reading a frame (the
// library's floor); portico: the Handler with a $connect-less stage.
// Run with -benchtime=1x.
func BenchmarkIdleConnections(b *testing.B) {
	n := idleConns()
	run := func(b *testing.B, h http.Handler, open func() int) {
		srv := httptest.NewServer(h)
		defer srv.Close()
		before, gBefore := heap()
		cmd := exec.Command(os.Args[0], "-test.run=^TestIdleClientsHelper$")
		cmd.Env = append(os.Environ(), "PORTICO_WS_CLIENTS_URL=ws"+strings.TrimPrefix(srv.URL, "http")+"/dev", "PORTICO_WS_CLIENTS_N="+strconv.Itoa(n))
		stdin, _ := cmd.StdinPipe()
		stdout, _ := cmd.StdoutPipe()
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		defer func() { stdin.Close(); cmd.Wait() }()
		line, err := bufio.NewReader(stdout).ReadString('\n')
		if err != nil || strings.TrimSpace(line) != "ready" {
			b.Fatalf("clients: %q %v", line, err)
		}
		for deadline := time.Now().Add(time.Minute); open() < n; time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				b.Fatalf("%d of %d connections open", open(), n)
			}
		}
		after, gAfter := heap()
		b.ReportMetric(float64(after-before)/float64(n)/1024, "KiB/conn")
		b.ReportMetric(float64(gAfter-gBefore)/float64(n), "goroutines/conn")
		b.ReportMetric(float64(n), "conns")
	}
	b.Run("bare", func(b *testing.B) {
		var open atomicInt
		run(b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c, _, _, err := ws.UpgradeHTTP(r, w)
			if err != nil {
				return
			}
			open.add(1)
			go wsutil.ReadClientData(c)
		}), open.load)
	})
	b.Run("portico", func(b *testing.B) {
		reg := &Registry{}
		h, err := New(Config{APIID: "abc123", RouteSelection: []string{"action"}, Stages: map[string]*Stage{"dev": {Name: "dev", Routes: map[string]*Route{}}}},
			Deps{Invoker: &fakeInvoker{}, Registry: reg})
		if err != nil {
			b.Fatal(err)
		}
		run(b, h, reg.Len)
	})
}

func heap() (uint64, int) {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse + m.StackInuse, runtime.NumGoroutine()
}

// TestIdleClientsHelper is BenchmarkIdleConnections' client process: it
// opens PORTICO_WS_CLIENTS_N connections, prints "ready" and holds them
// until stdin closes. Without the variables it does nothing.
func TestIdleClientsHelper(t *testing.T) {
	url := os.Getenv("PORTICO_WS_CLIENTS_URL")
	if url == "" {
		return
	}
	n, _ := strconv.Atoi(os.Getenv("PORTICO_WS_CLIENTS_N"))
	conns := make([]*websocket.Conn, 0, n)
	for range n {
		c, _, err := websocket.Dial(context.Background(), url, nil)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	fmt.Println("ready")
	io.Copy(io.Discard, os.Stdin)
	for _, c := range conns {
		c.CloseNow()
	}
}

type atomicInt struct{ v atomic.Int64 }

func (a *atomicInt) add(n int64) { a.v.Add(n) }
func (a *atomicInt) load() int   { return int(a.v.Load()) }
