package s3

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// fakeNotifier allows functions whose ARN ends in ":allowed" and records
// what it is asked to deliver.
type fakeNotifier struct {
	mu   sync.Mutex
	sent []sentEvent
	fail bool // Notify fails (a full queue)
}

type sentEvent struct {
	arn     string
	payload []byte
}

func (f *fakeNotifier) AllowsS3(arn, bucket string) bool { return strings.HasSuffix(arn, ":allowed") }
func (f *fakeNotifier) Notify(ctx context.Context, arn string, payload []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail {
		return errors.New("queue full")
	}
	f.sent = append(f.sent, sentEvent{arn, payload})
	return nil
}

func (f *fakeNotifier) take() []sentEvent {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := f.sent
	f.sent = nil
	return out
}

const allowedARN = "arn:aws:lambda:us-east-1:000000000000:function:allowed"

func lambdaConfig(id string, prefix, suffix string, events ...string) types.LambdaFunctionConfiguration {
	c := types.LambdaFunctionConfiguration{Id: aws.String(id), LambdaFunctionArn: aws.String(allowedARN)}
	for _, e := range events {
		c.Events = append(c.Events, types.Event(e))
	}
	var rules []types.FilterRule
	if prefix != "" {
		rules = append(rules, types.FilterRule{Name: types.FilterRuleNamePrefix, Value: aws.String(prefix)})
	}
	if suffix != "" {
		rules = append(rules, types.FilterRule{Name: types.FilterRuleNameSuffix, Value: aws.String(suffix)})
	}
	if rules != nil {
		c.Filter = &types.NotificationConfigurationFilter{Key: &types.S3KeyFilter{FilterRules: rules}}
	}
	return c
}

func TestBucketNotifications(t *testing.T) {
	h := newHarness(t, Config{MinPartSize: 1})
	fn := &fakeNotifier{}
	h.srv.deps.Notifier = fn
	c := h.admin(true)
	ctx := context.Background()
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("docs")}); err != nil {
		t.Fatal(err)
	}
	put := func(cfgs ...types.LambdaFunctionConfiguration) error {
		_, err := c.PutBucketNotificationConfiguration(ctx, &s3.PutBucketNotificationConfigurationInput{Bucket: aws.String("docs"),
			NotificationConfiguration: &types.NotificationConfiguration{LambdaFunctionConfigurations: cfgs}})
		return err
	}
	if err := put(lambdaConfig("pdfs", "in/", ".pdf", "s3:ObjectCreated:*"), lambdaConfig("gone", "", "", "s3:ObjectRemoved:Delete")); err != nil {
		t.Fatal(err)
	}
	got, err := c.GetBucketNotificationConfiguration(ctx, &s3.GetBucketNotificationConfigurationInput{Bucket: aws.String("docs")})
	if err != nil {
		t.Fatal(err)
	}
	if l := got.LambdaFunctionConfigurations; len(l) != 2 || aws.ToString(l[0].Id) != "pdfs" || aws.ToString(l[0].LambdaFunctionArn) != allowedARN ||
		len(l[0].Filter.Key.FilterRules) != 2 || l[0].Filter.Key.FilterRules[1].Name != "Suffix" {
		t.Errorf("GetBucketNotificationConfiguration = %+v", l)
	}

	// Refused configurations leave the old one in place.
	refused := []struct {
		name string
		cfg  types.LambdaFunctionConfiguration
		msg  string
	}{
		{"no permission", types.LambdaFunctionConfiguration{LambdaFunctionArn: aws.String("arn:aws:lambda:us-east-1:000000000000:function:other"),
			Events: []types.Event{"s3:ObjectCreated:*"}}, "Unable to validate the following destination configurations"},
		{"event", lambdaConfig("x", "", "", "s3:ObjectRestore:Post"), "The event is not supported for notifications"},
		{"overlap", lambdaConfig("x", "in/a", "", "s3:ObjectCreated:Put"), "Configuration is ambiguously defined"},
	}
	for _, tt := range refused {
		cfgs := []types.LambdaFunctionConfiguration{tt.cfg}
		if tt.name == "overlap" {
			cfgs = append(cfgs, lambdaConfig("y", "in/", ".pdf", "s3:ObjectCreated:*"))
		}
		err := put(cfgs...)
		var ae smithy.APIError
		if !errors.As(err, &ae) || ae.ErrorCode() != "InvalidArgument" || !strings.Contains(ae.ErrorMessage(), tt.msg) {
			t.Errorf("%s: err = %v, want InvalidArgument %q", tt.name, err, tt.msg)
		}
	}
	_, err = c.PutBucketNotificationConfiguration(ctx, &s3.PutBucketNotificationConfigurationInput{Bucket: aws.String("docs"),
		NotificationConfiguration: &types.NotificationConfiguration{QueueConfigurations: []types.QueueConfiguration{{
			QueueArn: aws.String("arn:aws:sqs:us-east-1:000000000000:q"), Events: []types.Event{"s3:ObjectCreated:*"}}}}})
	if apiCode(err) != "InvalidArgument" {
		t.Errorf("queue configuration: %v", err)
	}
	if n, _ := h.srv.Notifications("docs"); len(n) != 2 {
		t.Errorf("a refused configuration replaced the old one: %+v", n)
	}
	// PUT ?notification is not CreateBucket, GET ?notification not a listing.
	if _, err := c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("docs")}); err != nil {
		t.Fatal(err)
	}

	// Filters: only in/*.pdf is created-notified.
	for _, k := range []string{"in/a b(1).pdf", "in/a.txt", "out/b.pdf"} {
		if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("docs"), Key: aws.String(k), Body: strings.NewReader("hello")}); err != nil {
			t.Fatal(err)
		}
	}
	sent := fn.take()
	if len(sent) != 1 || sent[0].arn != allowedARN {
		t.Fatalf("sent %d events, want 1 (in/a b(1).pdf)", len(sent))
	}
	checkEvent(t, sent[0].payload, "put.json")

	// Copy, multipart, delete.
	if _, err := c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("docs"), Key: aws.String("in/copy.pdf"), CopySource: aws.String("docs/out/b.pdf")}); err != nil {
		t.Fatal(err)
	}
	mp, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("docs"), Key: aws.String("in/big.pdf")})
	if err != nil {
		t.Fatal(err)
	}
	part, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String("docs"), Key: aws.String("in/big.pdf"), UploadId: mp.UploadId,
		PartNumber: aws.Int32(1), Body: bytes.NewReader([]byte("part one"))})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String("docs"), Key: aws.String("in/big.pdf"), UploadId: mp.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{{ETag: part.ETag, PartNumber: aws.Int32(1)}}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("docs"), Key: aws.String("in/a.txt")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("docs"), Key: aws.String("never/was")}); err != nil {
		t.Fatal(err)
	}
	var names []string
	var seqs []string
	for _, e := range fn.take() {
		var m eventMessage
		if err := json.Unmarshal(e.payload, &m); err != nil {
			t.Fatal(err)
		}
		r := m.Records[0]
		names = append(names, r.EventName+" "+r.S3.Object.Key+" "+r.S3.ConfigurationID)
		seqs = append(seqs, r.S3.Object.Sequencer)
	}
	want := []string{"ObjectCreated:Copy in/copy.pdf pdfs", "ObjectCreated:CompleteMultipartUpload in/big.pdf pdfs", "ObjectRemoved:Delete in/a.txt gone"}
	if strings.Join(names, "\n") != strings.Join(want, "\n") {
		t.Errorf("events:\n%s\nwant:\n%s", strings.Join(names, "\n"), strings.Join(want, "\n"))
	}
	for i := 1; i < len(seqs); i++ {
		if len(seqs[i]) != len(seqs[i-1]) || seqs[i] <= seqs[i-1] {
			t.Errorf("sequencers not increasing: %v", seqs)
		}
	}

	// An event that cannot be queued fails the write with SlowDown.
	fn.mu.Lock()
	fn.fail = true
	fn.mu.Unlock()
	_, err = h.client(adminID, adminSecret, "", true).PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("docs"), Key: aws.String("in/full.pdf"), Body: strings.NewReader("x")},
		func(o *s3.Options) { o.RetryMaxAttempts = 1 })
	if apiCode(err) != "SlowDown" {
		t.Errorf("PutObject with the queue full: %v, want 503 SlowDown", err)
	}
	fn.mu.Lock()
	fn.fail = false
	fn.mu.Unlock()

	// The configuration survives a restart.
	s2, err := New(Config{DataDir: h.dir}, Deps{Principals: h.srv.deps.Principals})
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := s2.Notifications("docs"); len(n) != 2 || n[0].Prefix != "in/" {
		t.Errorf("after restart: %+v", n)
	}
	// An empty configuration removes every notification.
	if err := put(); err != nil {
		t.Fatal(err)
	}
	if n, _ := h.srv.Notifications("docs"); len(n) != 0 {
		t.Errorf("after an empty put: %+v", n)
	}
}

var volatileEvent = regexp.MustCompile(`"(eventTime|x-amz-request-id|x-amz-id-2|sequencer)":"[^"]*"`)

// checkEvent compares an event message with a golden file, the times and
// request IDs blanked.
func checkEvent(t *testing.T, payload []byte, golden string) {
	t.Helper()
	got := volatileEvent.ReplaceAll(payload, []byte(`"$1":"…"`))
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, got, "", "  "); err != nil {
		t.Fatal(err)
	}
	pretty.WriteByte('\n')
	path := filepath.Join("testdata", "events", golden)
	if *update {
		os.MkdirAll(filepath.Dir(path), 0o755)
		os.WriteFile(path, pretty.Bytes(), 0o644)
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if pretty.String() != string(want) {
		t.Errorf("event:\n%s\nwant:\n%s", pretty.String(), want)
	}
}

func TestEncodeEventKey(t *testing.T) {
	tests := []struct{ name, key, want string }{
		{"plain", "docs/a.pdf", "docs/a.pdf"},
		{"space", "my file.txt", "my+file.txt"},
		{"parens", "a (1).jpg", "a+%281%29.jpg"},
		{"plus", "a+b", "a%2Bb"},
		{"unicode", "é", "%C3%A9"},
		{"kept", "x-y_z.*", "x-y_z.*"},
		{"equals and amp", "k=v&w", "k%3Dv%26w"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := EncodeEventKey(tt.key); got != tt.want {
				t.Errorf("EncodeEventKey(%q) = %q, want %q", tt.key, got, tt.want)
			}
		})
	}
}
