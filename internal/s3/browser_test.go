package s3

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"regexp"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/portico-dev/portico/internal/testtool"
)

// browserPage uploads with a presigned PUT URL straight to the store from
// another origin (the CORS use case), reads the object back with a
// presigned GET, and tries a bucket without CORS; it writes what happened
// into #result.
const browserPage = `<!doctype html><html><body><pre id="result">pending</pre><script>
(async () => {
  const out = [];
  try {
    const put = await fetch(%q, {method: "PUT", body: "uploaded by the browser", headers: {"Content-Type": "text/plain", "x-amz-meta-origin": "page"}});
    out.push("put=" + put.status + " etag=" + put.headers.get("ETag"));
    const get = await fetch(%q);
    out.push("get=" + get.status + " body=" + (await get.text()));
  } catch (e) { out.push("error=" + e); }
  try {
    await fetch(%q, {method: "PUT", body: "x"});
    out.push("nocors=allowed");
  } catch (e) { out.push("nocors=blocked"); }
  document.getElementById("result").textContent = out.join("\n");
})();
</script></body></html>`

func TestBrowserPresignedUpload(t *testing.T) {
	bin := ""
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			bin = p
			break
		}
	}
	if bin == "" {
		testtool.Missing(t, "chromium", "not installed (apt-get install -y chromium)")
	}
	h := newHarness(t, Config{})
	ctx := context.Background()
	c := h.admin(true)
	var pageHTML atomic.Pointer[string] // set once the URLs are presigned for the page's origin
	page := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		if p := pageHTML.Load(); p != nil {
			io.WriteString(w, *p)
		}
	}))
	defer page.Close()
	// The page's origin differs from the store's (another port).
	origin := page.URL
	for _, b := range []string{"uploads", "nocors"} {
		if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.PutBucketCors(ctx, &s3.PutBucketCorsInput{Bucket: aws.String("uploads"), CORSConfiguration: &types.CORSConfiguration{
		CORSRules: []types.CORSRule{{AllowedOrigins: []string{origin}, AllowedMethods: []string{"PUT", "GET"},
			AllowedHeaders: []string{"*"}, ExposeHeaders: []string{"ETag"}, MaxAgeSeconds: aws.Int32(60)}}}}); err != nil {
		t.Fatal(err)
	}
	pre := s3.NewPresignClient(c)
	put, err := pre.PresignPutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("uploads"), Key: aws.String("from-browser.txt")}, s3.WithPresignExpires(5*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	get, _ := pre.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("uploads"), Key: aws.String("from-browser.txt")}, s3.WithPresignExpires(5*time.Minute))
	nocors, _ := pre.PresignPutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("nocors"), Key: aws.String("x")}, s3.WithPresignExpires(5*time.Minute))
	html := fmt.Sprintf(browserPage, put.URL, get.URL, nocors.URL)
	pageHTML.Store(&html)

	runCtx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(runCtx, bin, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-extensions",
		"--user-data-dir="+t.TempDir(), "--virtual-time-budget=10000", "--dump-dom", page.URL)
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
	m := regexp.MustCompile(`(?s)<pre id="result">(.*?)</pre>`).FindStringSubmatch(string(out))
	if m == nil {
		t.Fatalf("no result in the page:\n%s", out)
	}
	result := m[1]
	for _, want := range []string{"put=200 etag=\"" + md5hex([]byte("uploaded by the browser")), "get=200 body=uploaded by the browser", "nocors=blocked"} {
		if !strings.Contains(result, want) {
			t.Errorf("page result lacks %q:\n%s", want, result)
		}
	}
	ho, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("uploads"), Key: aws.String("from-browser.txt")})
	if err != nil || aws.ToString(ho.ContentType) != "text/plain" || ho.Metadata["origin"] != "page" {
		t.Errorf("uploaded object: %+v %v", ho, err)
	}
	if _, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("nocors"), Key: aws.String("x")}); apiCode(err) == "" {
		t.Error("the upload to the bucket without CORS went through")
	}
}
