package sigv4

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/testtool"
)

// recorder is a loopback server that verifies each request it receives
// with the real clock and records the outcome.
func recorder(t *testing.T, service string, status int, respBody string) (*httptest.Server, chan error) {
	t.Helper()
	got := make(chan error, 4)
	v := testVerifier()
	v.Now = time.Now
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		_, err := v.Verify(r, b, service)
		select {
		case got <- err:
		default:
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, respBody)
	}))
	t.Cleanup(srv.Close)
	return srv, got
}

func TestBotocoreSigV4Auth(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		testtool.Missing(t, "python3", "not installed")
	}
	if err := exec.Command("python3", "-c", "import botocore").Run(); err != nil {
		testtool.Missing(t, "botocore", "not installed")
	}
	srv, got := recorder(t, "execute-api", 200, "{}")
	script := `
import sys, urllib.request
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
url, key, secret, token = sys.argv[1:5]
req = AWSRequest(method="POST", url=url, data=b'{"x": "caf\xc3\xa9"}',
                 headers={"Content-Type": "application/json", "X-Multi": "a   b"})
SigV4Auth(Credentials(key, secret, token or None), "execute-api", "us-east-1").add_auth(req)
p = req.prepare()
r = urllib.request.Request(p.url, data=p.body, headers=dict(p.headers), method=p.method)
urllib.request.urlopen(r, timeout=10).read()
`
	cases := []struct {
		name  string
		path  string
		creds Credentials
	}{
		{"long-term key", "/v1/a%20b/caf%C3%A9?z=1&a=x%20y&a=b&empty=", testCreds},
		{"session token", "/v1/items?q=%E2%9C%93", tempCreds},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			out, err := exec.CommandContext(ctx, "python3", "-c", script, srv.URL+c.path, c.creds.AccessKeyID, c.creds.SecretAccessKey, c.creds.SessionToken).CombinedOutput()
			if err != nil {
				t.Fatalf("python: %v\n%s", err, out)
			}
			if err := <-got; err != nil {
				t.Fatalf("Verify: %v", err)
			}
		})
	}
}

func TestAWSCLILambdaInvoke(t *testing.T) {
	awsBin, err := exec.LookPath("aws")
	if err != nil {
		testtool.Missing(t, "aws", "the AWS CLI is not installed")
	}
	srv, got := recorder(t, "lambda", 200, `{"ok":true}`)
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, awsBin, "--endpoint-url", srv.URL, "--region", "us-east-1",
		"lambda", "invoke", "--function-name", "arn:aws:lambda:us-east-1:123456789012:function:my-fn",
		"--payload", `{"key":"välue"}`, filepath.Join(dir, "out.json"))
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") {
			env = append(env, kv)
		}
	}
	cmd.Env = append(env, "AWS_ACCESS_KEY_ID="+testCreds.AccessKeyID, "AWS_SECRET_ACCESS_KEY="+testCreds.SecretAccessKey,
		"AWS_CONFIG_FILE="+filepath.Join(dir, "none"), "AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(dir, "none"),
		"AWS_MAX_ATTEMPTS=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("aws lambda invoke: %v\n%s", err, out)
	}
	if err := <-got; err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "out.json")); !bytes.Contains(b, []byte("ok")) {
		t.Errorf("output file = %q", b)
	}
}
