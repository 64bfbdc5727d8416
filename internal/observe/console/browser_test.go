package console

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/observe"
	"github.com/portico-dev/portico/internal/observe/live"
	"github.com/portico-dev/portico/internal/testtool"
)

var updateScreenshot = flag.Bool("update", false, "write the browser test's screenshot to docs/console.png")

// chromium finds Debian's chromium, or skips the test.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	testtool.Missing(t, "chromium", "not installed (apt-get install -y chromium)")
	return ""
}

// runChromium runs headless chromium with extra flags against url and
// returns its standard output. Its whole process group is killed once it
// returns.
func runChromium(t *testing.T, bin, url string, extra ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	args := append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-extensions",
		"--user-data-dir=" + t.TempDir(), "--window-size=1280,900", "--hide-scrollbars"}, extra...)
	args = append(args, url)
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if cmd.Process != nil {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // helpers left behind, if any
	}
	if err != nil {
		t.Fatalf("chromium: %v\n%s", err, stderr.String())
	}
	return string(out)
}

// traffic observes synthetic requests at a steady rate until stop is
// closed, and returns the ids it used.
type traffic struct {
	mu  sync.Mutex
	ids []string
}

func (tr *traffic) run(l *live.Live, stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	rng := rand.New(rand.NewPCG(1, 2))
	routes := []struct {
		key, fn string
		base    time.Duration
	}{
		{"GET /items", "items-fn", 4 * time.Millisecond},
		{"POST /orders", "orders-fn", 12 * time.Millisecond},
		{"GET /health", "", 1 * time.Millisecond},
	}
	tick := time.NewTicker(15 * time.Millisecond)
	defer tick.Stop()
	for i := 0; ; i++ {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		rt := routes[i%len(routes)]
		status := 200
		switch {
		case i%17 == 0:
			status = 502
		case i%11 == 0:
			status = 404
		}
		lat := rt.base + time.Duration(rng.ExpFloat64()*float64(rt.base))
		id := fmt.Sprintf("synthetic-%05d", i)
		tr.mu.Lock()
		tr.ids = append(tr.ids, id)
		tr.mu.Unlock()
		l.Observe(&observe.Record{RequestID: id, Time: time.Now().Add(-lat), APIID: "a1b2c3d4e5", APIName: "shop",
			Stage: "$default", RouteKey: rt.key, HTTPMethod: strings.Fields(rt.key)[0], Path: strings.Fields(rt.key)[1],
			Status: status, ResponseLatency: lat, Function: rt.fn, ColdStart: i < 3})
	}
}

func TestBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("drives a headless browser: long tier, skipped under -short")
	}
	bin := chromium(t)
	l := live.New(live.Config{})
	c := newTestConsole(t, l, func(c *Config) { c.Window = 20 * time.Second; c.Recent = 12 })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: c}
	go srv.Serve(ln)
	defer srv.Close()
	url := "http://" + ln.Addr().String() + "/"

	var tr traffic
	stop, done := make(chan struct{}), make(chan struct{})
	go tr.run(l, stop, done)
	defer func() { close(stop); <-done }()
	time.Sleep(3 * time.Second) // a few seconds of history for the charts

	dom := runChromium(t, bin, url, "--dump-dom", "--virtual-time-budget=3000")

	t.Run("request list", func(t *testing.T) {
		m := regexp.MustCompile(`id="requests" data-updates="(\d+)"`).FindStringSubmatch(dom)
		if m == nil || m[1] == "0" {
			t.Fatalf("the polling script did not fill the request list:\n%s", dom)
		}
		tr.mu.Lock()
		first := tr.ids[len(tr.ids)/2]
		tr.mu.Unlock()
		rows := regexp.MustCompile(`data-request-id="(synthetic-\d+)"`).FindAllStringSubmatch(dom, -1)
		if len(rows) < 10 || len(rows) > 12 {
			t.Fatalf("%d synthetic rows, want 10 to 12", len(rows))
		}
		if rows[0][1] < first {
			t.Errorf("newest row %s is older than %s, observed before the page loaded", rows[0][1], first)
		}
		if !strings.Contains(dom, `href="logs?function=items-fn&amp;request=synthetic-`) {
			t.Errorf("no logs link for an AWS_PROXY request")
		}
	})
	t.Run("charts", func(t *testing.T) {
		for _, route := range []string{"GET /items", "POST /orders", "GET /health"} {
			if !strings.Contains(dom, `data-route="`+route+`"`) {
				t.Errorf("no chart for %s", route)
			}
		}
		for _, class := range []string{"rate", "err", "p50", "p90", "p99"} {
			re := regexp.MustCompile(`<path class="` + class + `" d="M[0-9. L]+"`)
			if n := len(re.FindAllString(dom, -1)); n != 3 {
				t.Errorf("%d %s paths, want 3", n, class)
			}
		}
		// Traffic drew the rate line off the baseline somewhere.
		if !regexp.MustCompile(`<path class="rate" d="[^"]*L[0-9.]+ ([0-9]|[1-7][0-9])\.`).MatchString(dom) {
			t.Errorf("rate lines are flat")
		}
	})

	shot := filepath.Join(t.TempDir(), "console.png")
	runChromium(t, bin, url, "--screenshot="+shot, "--virtual-time-budget=3000")
	st, err := os.Stat(shot)
	if err != nil || st.Size() < 10_000 {
		t.Fatalf("screenshot: %v (%v)", st, err)
	}
	if *updateScreenshot {
		b, err := os.ReadFile(shot)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join("..", "..", "..", "docs", "console.png"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
