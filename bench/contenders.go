package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/portico-dev/portico/internal/awsauth"
)

// goBuild builds pkg (relative to the repo root) into out.
func goBuild(ctx context.Context, root, out, pkg string, tags ...string) error {
	args := []string{"build", "-o", out}
	if len(tags) > 0 {
		args = append(args, "-tags", strings.Join(tags, ","))
	}
	args = append(args, pkg)
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %w: %s", pkg, err, truncate(strings.TrimSpace(string(b)), 600))
	}
	return nil
}

// buildPortico builds cmd/portico, or says why it cannot yet.
func buildPortico(ctx context.Context, root, out string) error {
	srcs, _ := filepath.Glob(filepath.Join(root, "cmd", "portico", "*.go"))
	if len(srcs) == 0 {
		return errUnavailable{"the portico binary (cmd/portico has no Go files yet)"}
	}
	if err := goBuild(ctx, root, out, "./cmd/portico"); err != nil {
		return errUnavailable{"cmd/portico to build (" + err.Error() + ")"}
	}
	return nil
}

// portico is a running `portico up`.
type portico struct {
	*proc
	gateway, aws string
	tls          string            // the gateway's HTTPS URL, with --tls-listen
	endpoints    map[string]string // "API STAGE" -> URL
	startup      time.Duration     // from exec to "ready"
	admin        awsauth.Admin     // its admin credentials, from its state directory
	sign         func(*http.Request) error
}

// startPortico runs `portico up -f spec` on ephemeral loopback ports (the
// admin listener too, so that two can run at once) and waits for "ready";
// extra flags come last and override those.
func startPortico(ctx context.Context, cl *cleanups, bin, spec string, extra ...string) (*portico, error) {
	if bin == "" {
		return nil, errUnavailable{"the portico binary"}
	}
	t0 := time.Now()
	args := append([]string{"up", "-f", spec, "--listen", "127.0.0.1:0", "--aws-listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0"}, extra...)
	p, err := start(cl, filepath.Dir(spec), bin, args...)
	if err != nil {
		return nil, err
	}
	pt := &portico{proc: p, endpoints: map[string]string{}}
	_, err = p.waitLine(ctx, 90*time.Second, func(l string) bool {
		f := strings.Fields(l)
		switch {
		case len(f) == 2 && f[0] == "gateway":
			pt.gateway = f[1]
		case len(f) == 2 && f[0] == "aws":
			pt.aws = f[1]
		case len(f) == 2 && f[0] == "gateway-tls":
			pt.tls = f[1]
		case len(f) == 4 && f[0] == "endpoint":
			pt.endpoints[f[1]+" "+f[2]] = f[3]
		}
		return l == "ready"
	})
	if err != nil {
		p.stop()
		return nil, fmt.Errorf("portico up -f %s: %w", filepath.Base(spec), err)
	}
	pt.startup = time.Since(t0)
	dataDir := filepath.Join(filepath.Dir(spec), ".portico")
	for i, a := range extra {
		if a == "--data-dir" && i+1 < len(extra) {
			dataDir = extra[i+1]
		}
	}
	if pt.admin, err = awsauth.ReadAdmin(dataDir); err != nil {
		p.stop()
		return nil, err
	}
	pt.sign = porticoSigner(pt.admin)
	return pt, nil
}

func (p *portico) invokeURL(fn string) string {
	return p.aws + "/2015-03-31/functions/" + fn + "/invocations"
}

// invokeLoad is the Invoke API load on fn, signed with the admin
// credentials as an SDK signs it.
func (p *portico) invokeLoad(fn string) load {
	l := invokeLoad(p.invokeURL(fn))
	l.Sign = p.sign
	return l
}

// porticoSigner signs requests with SigV4 as the SDKs do. A load repeats
// one request, so a signature is reused for up to a minute (it stays valid
// for five, and SigV4 allows replays within that window): the client's
// signing cost stays out of the latencies measured, the server's check is
// in them.
func porticoSigner(a awsauth.Admin) func(*http.Request) error {
	type signed struct {
		at      time.Time
		headers http.Header
	}
	var (
		mu    sync.Mutex
		cache = map[string]signed{}
	)
	creds := aws.Credentials{AccessKeyID: a.AccessKeyID, SecretAccessKey: a.SecretAccessKey}
	return func(r *http.Request) error {
		var body []byte
		if r.Body != nil {
			var err error
			if body, err = io.ReadAll(r.Body); err != nil {
				return err
			}
			r.Body.Close()
			r.Body = io.NopCloser(strings.NewReader(string(body)))
		}
		sum := sha256.Sum256(body)
		key := r.Method + " " + r.URL.String() + " " + hex.EncodeToString(sum[:])
		mu.Lock()
		defer mu.Unlock()
		if s, ok := cache[key]; ok && time.Since(s.at) < time.Minute {
			for k, v := range s.headers {
				r.Header[k] = v
			}
			return nil
		}
		now := time.Now()
		if err := v4.NewSigner().SignHTTP(r.Context(), creds, r, hex.EncodeToString(sum[:]), awsauth.Service(r.URL.Path), "us-east-1", now); err != nil {
			return err
		}
		cache[key] = signed{at: now, headers: http.Header{"Authorization": r.Header["Authorization"], "X-Amz-Date": r.Header["X-Amz-Date"]}}
		return nil
	}
}

// nginxConf is a configuration for one nginx worker proxying to upstream
// with keep-alive connections, logging nothing, bodies buffered in memory.
func nginxConf(prefix string, port int, upstream string, root bool) string {
	user := ""
	if root {
		user = "user root;\n"
	}
	return fmt.Sprintf(`%sworker_processes 1;
daemon off;
pid %[2]s/nginx.pid;
error_log %[2]s/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path %[2]s/body;
    proxy_temp_path %[2]s/proxy;
    fastcgi_temp_path %[2]s/fastcgi;
    uwsgi_temp_path %[2]s/uwsgi;
    scgi_temp_path %[2]s/scgi;
    client_max_body_size 16m;
    client_body_buffer_size 2m;
    keepalive_requests 1000000;
    upstream backend {
        server %[3]s;
        keepalive 64;
    }
    server {
        listen 127.0.0.1:%[4]d;
        location / {
            proxy_pass http://backend;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
    }
}
`, user, prefix, upstream, port)
}

// startNginx writes a config under dir and starts nginx in the foreground.
func startNginx(ctx context.Context, cl *cleanups, bin, dir, upstreamHostPort string, edits ...func(conf string) string) (*proc, string, error) {
	prefix := filepath.Join(dir, "nginx")
	if err := os.MkdirAll(prefix, 0o755); err != nil {
		return nil, "", fmt.Errorf("nginx: %w", err)
	}
	port, err := freePort()
	if err != nil {
		return nil, "", err
	}
	conf := filepath.Join(prefix, "nginx.conf")
	text := nginxConf(prefix, port, upstreamHostPort, os.Geteuid() == 0)
	for _, edit := range edits {
		text = edit(text)
	}
	if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
		return nil, "", fmt.Errorf("nginx: %w", err)
	}
	p, err := start(cl, prefix, bin, "-p", prefix, "-c", conf, "-e", filepath.Join(prefix, "error.log"))
	if err != nil {
		return nil, "", err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	if err := p.waitTCP(ctx, addr, 10*time.Second); err != nil {
		p.stop()
		b, _ := os.ReadFile(filepath.Join(prefix, "error.log"))
		return nil, "", fmt.Errorf("nginx: %w %s", err, truncate(string(b), 300))
	}
	return p, "http://" + addr, nil
}

// startRIE runs the emulator with bootstrap as its runtime; it returns the
// invoke URL.
func startRIE(ctx context.Context, cl *cleanups, bin, bootstrap string) (*proc, string, error) {
	p1, err := freePort()
	if err != nil {
		return nil, "", err
	}
	p2, err := freePort()
	if err != nil {
		return nil, "", err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", p1)
	p, err := start(cl, filepath.Dir(bootstrap), bin,
		"--runtime-interface-emulator-address", addr,
		"--runtime-api-address", fmt.Sprintf("127.0.0.1:%d", p2),
		bootstrap)
	if err != nil {
		return nil, "", err
	}
	if err := p.waitTCP(ctx, addr, 15*time.Second); err != nil {
		p.stop()
		return nil, "", fmt.Errorf("aws-lambda-rie: %w", err)
	}
	return p, "http://" + addr + "/2015-03-31/functions/function/invocations", nil
}
