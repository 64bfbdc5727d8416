package s3

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/portico-dev/portico/internal/testtool"
)

const crashEnv = "PORTICO_S3_CRASH_HELPER_DIR"

// TestCrashHelper is the store process of TestCrashDuringUploads; it only
// runs when re-executed with crashEnv set, and serves until killed.
func TestCrashHelper(t *testing.T) {
	dir := os.Getenv(crashEnv)
	if dir == "" {
		t.Skip("helper process for TestCrashDuringUploads")
	}
	h := newHarness(t, Config{DataDir: filepath.Join(dir, "data")})
	os.WriteFile(filepath.Join(dir, "addr.tmp"), []byte(h.http.Listener.Addr().String()), 0o644)
	os.Rename(filepath.Join(dir, "addr.tmp"), filepath.Join(dir, "addr"))
	select {}
}

func TestCrashDuringUploads(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a helper process")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cmd := exec.Command(exe, "-test.run=^TestCrashHelper$")
	cmd.Env = append(os.Environ(), crashEnv+"="+dir)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	killed := false
	defer func() {
		if !killed {
			cmd.Process.Kill()
			cmd.Wait()
		}
	}()
	var addr []byte
	testtool.Eventually(t, "the helper to start", func() bool {
		addr, err = os.ReadFile(filepath.Join(dir, "addr"))
		return err == nil && len(addr) > 0
	})
	client := sdkClientFor(string(addr))
	ctx := context.Background()
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("crash")}); err != nil {
		t.Fatal(err)
	}
	// versions[key] holds every body ever sent for the key.
	const keys, workers = 24, 4
	var mu sync.Mutex
	versions := map[string][][]byte{}
	rng := rand.New(rand.NewSource(1))
	bodies := make([][]byte, 8)
	for i := range bodies {
		bodies[i] = make([]byte, 64<<10+rng.Intn(512<<10))
		rng.Read(bodies[i])
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				k := fmt.Sprintf("obj-%02d", (w*7+i)%keys)
				b := bodies[(w+i)%len(bodies)]
				mu.Lock()
				versions[k] = append(versions[k], b)
				mu.Unlock()
				if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("crash"), Key: aws.String(k), Body: bytes.NewReader(b)}); err != nil {
					return // the server died
				}
			}
		}(w)
	}
	time.Sleep(700 * time.Millisecond)
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	killed = true
	close(stop)
	wg.Wait()

	// Reopen the store: every object is absent or one complete version.
	h2 := newHarness(t, Config{DataDir: filepath.Join(dir, "data")})
	c := h2.admin(true)
	lo, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("crash")})
	if err != nil {
		t.Fatal(err)
	}
	if len(lo.Contents) == 0 {
		t.Fatal("no object survived; the helper was killed too early to test anything")
	}
	for k := 0; k < keys; k++ {
		key := fmt.Sprintf("obj-%02d", k)
		out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("crash"), Key: aws.String(key)})
		if apiCode(err) == "NoSuchKey" {
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		got, _ := io.ReadAll(out.Body)
		out.Body.Close()
		ok := false
		for _, v := range versions[key] {
			if bytes.Equal(v, got) {
				ok = true
			}
		}
		if !ok || aws.ToString(out.ETag) != `"`+md5hex(got)+`"` {
			t.Errorf("%s: %d bytes matching no version sent (etag %s)", key, len(got), aws.ToString(out.ETag))
		}
	}
	// Staging leftovers were cleaned at start.
	ents, _ := os.ReadDir(filepath.Join(dir, "data", "s3", "crash", "tmp"))
	if len(ents) != 0 {
		t.Errorf("%d staging files survived the restart", len(ents))
	}
	t.Logf("%d objects survived the kill", len(lo.Contents))
}

// sdkClientFor is a path-style admin client for a server at addr.
func sdkClientFor(addr string) *s3.Client {
	tr := &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}}
	return s3.New(s3.Options{
		Region: "us-east-1", BaseEndpoint: aws.String("http://" + strings.TrimSpace(addr)), UsePathStyle: true,
		Credentials: staticCreds(adminID, adminSecret, ""), HTTPClient: &http.Client{Transport: tr},
		RetryMaxAttempts: 1,
	})
}
