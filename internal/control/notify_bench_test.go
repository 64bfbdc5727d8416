package control

import (
	"bufio"
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/portico-dev/portico/internal/invocation"
	"github.com/portico-dev/portico/internal/lambda"
	"github.com/portico-dev/portico/internal/lambda/asyncq"
	"github.com/portico-dev/portico/internal/s3"
	"github.com/portico-dev/portico/internal/sigv4"
)

// BenchmarkPutObjectToFunctionStart measures, per upload, the time from
// the client starting PutObject (aws-sdk-go-v2, SigV4) to the notified
// function's handler starting: the object written and fsynced, the event
// matched, committed to the bbolt queue (fsync) and handed to a warm
// sandbox. Baselines, measured in the same run: a synchronous Invoke of
// the same function (call to handler start), and a PutObject to a bucket
// without notifications (call to response: the store's own fsyncs). It
// reports p50 and p99 of each, in milliseconds.
func BenchmarkPutObjectToFunctionStart(b *testing.B) {
	dir := b.TempDir()
	bin := filepath.Join(dir, "code", "bootstrap")
	if out, err := exec.Command("go", "build", "-o", bin, "./testdata/gostamp").CombinedOutput(); err != nil {
		b.Fatalf("build gostamp: %v\n%s", err, out)
	}
	fifo := filepath.Join(dir, "stamps")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		b.Fatal(err)
	}
	rf, err := os.OpenFile(fifo, os.O_RDWR, 0) // read end; RDWR so that neither side blocks on open
	if err != nil {
		b.Fatal(err)
	}
	defer rf.Close()
	stamps := bufio.NewReader(rf)

	store, err := asyncq.Open(filepath.Join(dir, "events.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	// The function stamps its start into a FIFO of the host: no sandbox.
	r, err := lambda.New(lambda.Config{CacheDir: filepath.Join(dir, "cache"), Isolation: lambda.IsolationNone}, lambda.Deps{EventStore: store})
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close(context.Background())
	fn := lambda.Function{Name: "stamp", Runtime: "provided.al2023", Handler: "bootstrap", CodeDir: filepath.Dir(bin),
		Timeout: 3 * time.Second, MemoryMB: 128, ReservedConcurrency: -1, Environment: map[string]string{"STAMP_FIFO": fifo}}
	if err := r.Deploy(context.Background(), []lambda.Function{fn}); err != nil {
		b.Fatal(err)
	}
	r.SetPermissions(map[string][]lambda.Permission{"stamp": {{Action: "lambda:InvokeFunction", Principal: "s3.amazonaws.com"}}})

	const id, secret = "AKIABENCH00000000000", "bench-secret"
	kr := &s3.Keyring{}
	if err := kr.Set([]s3.Principal{{Name: "admin", Admin: true, Credentials: sigv4.Credentials{AccessKeyID: id, SecretAccessKey: secret}}}); err != nil {
		b.Fatal(err)
	}
	srv, err := s3.New(s3.Config{DataDir: dir}, s3.Deps{Principals: kr, Notifier: S3Events{Runner: r}})
	if err != nil {
		b.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	ctx := context.Background()
	if err := srv.EnsureBuckets(ctx, []s3.Bucket{{Name: "docs"}, {Name: "plain"}}); err != nil {
		b.Fatal(err)
	}
	arn := lambda.FunctionARN("us-east-1", "000000000000", "stamp")
	if err := srv.SetNotifications("docs", []s3.Notification{{ID: "all", FunctionARN: arn, Events: []string{"s3:ObjectCreated:*"}}}); err != nil {
		b.Fatal(err)
	}
	c := awss3.New(awss3.Options{Region: "us-east-1", BaseEndpoint: aws.String(ts.URL), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider(id, secret, "")})

	// started reads the next stamp, checking its key.
	started := func(key string) time.Time {
		line, err := stamps.ReadString('\n')
		if err != nil {
			b.Fatal(err)
		}
		k, ns, _ := strings.Cut(strings.TrimSpace(line), " ")
		if k != key {
			b.Fatalf("stamp for %q, want %q", k, key)
		}
		n, _ := strconv.ParseInt(ns, 10, 64)
		return time.Unix(0, n)
	}
	put := func(i int) time.Duration {
		key := fmt.Sprintf("in/doc-%d.pdf", i)
		t0 := time.Now()
		if _, err := c.PutObject(ctx, &awss3.PutObjectInput{Bucket: aws.String("docs"), Key: aws.String(key), Body: strings.NewReader("%PDF-1.7")}); err != nil {
			b.Fatal(err)
		}
		return started(key).Sub(t0)
	}
	invoke := func(i int) time.Duration {
		key := fmt.Sprintf("sync-%d", i)
		payload := fmt.Sprintf(`{"Records":[{"s3":{"object":{"key":%q}}}]}`, key)
		t0 := time.Now()
		if _, err := r.Invoke(ctx, &invocation.Request{FunctionName: "stamp", Payload: []byte(payload)}); err != nil {
			b.Fatal(err)
		}
		return started(key).Sub(t0)
	}
	put(-1) // warm the sandbox
	b.ResetTimer()
	lat := make([]time.Duration, 0, b.N)
	for i := range b.N {
		lat = append(lat, put(i))
	}
	b.StopTimer()
	base := make([]time.Duration, 0, b.N)
	plain := make([]time.Duration, 0, b.N)
	for i := range b.N {
		base = append(base, invoke(i))
		t0 := time.Now()
		if _, err := c.PutObject(ctx, &awss3.PutObjectInput{Bucket: aws.String("plain"), Key: aws.String(fmt.Sprintf("doc-%d.pdf", i)), Body: strings.NewReader("%PDF-1.7")}); err != nil {
			b.Fatal(err)
		}
		plain = append(plain, time.Since(t0))
	}
	p := func(l []time.Duration, q float64) float64 {
		slices.Sort(l)
		return float64(l[min(len(l)-1, int(q*float64(len(l))))].Microseconds()) / 1000
	}
	b.ReportMetric(p(lat, 0.50), "p50-ms")
	b.ReportMetric(p(lat, 0.99), "p99-ms")
	b.ReportMetric(p(base, 0.50), "invoke-p50-ms")
	b.ReportMetric(p(base, 0.99), "invoke-p99-ms")
	b.ReportMetric(p(plain, 0.50), "put-p50-ms")
	b.ReportMetric(p(plain, 0.99), "put-p99-ms")
}
