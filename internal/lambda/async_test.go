package lambda

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/invocation"
	"github.com/portico-dev/portico/internal/lambda/asyncq"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// recordFn is a gorecord function and the file its events land in.
//
// The function writes a file of the host, so the runners of these tests
// (of the queue, not of the sandbox) run functions without isolation.
func recordFn(t *testing.T, name string) (Function, string) {
	f := fn(t, name, "gorecord")
	file := filepath.Join(t.TempDir(), name+".jsonl")
	f.Environment = map[string]string{"RECORD_FILE": file}
	return f, file
}

// lines returns the JSON lines recorded in file.
func lines(file string) []string {
	b, _ := os.ReadFile(file)
	return strings.Split(strings.TrimSpace(string(b)), "\n")[:bytes.Count(b, []byte("\n"))]
}

func waitLines(t *testing.T, file string, n int) []string {
	t.Helper()
	waitFor(t, func() bool { return len(lines(file)) >= n })
	return lines(file)
}

var volatile = regexp.MustCompile(`"(requestId|timestamp)":"[^"]*"`)

// checkRecord compares an invocation record with a golden file, request
// ID and timestamp blanked.
func checkRecord(t *testing.T, rec, golden string) {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(rec), &v); err != nil {
		t.Fatalf("record is not JSON: %v\n%s", err, rec)
	}
	got := volatile.ReplaceAllString(rec, `"$1":"…"`)
	var pretty bytes.Buffer
	json.Indent(&pretty, []byte(got), "", "  ")
	pretty.WriteByte('\n')
	path := filepath.Join("testdata", "records", golden)
	if *update {
		os.MkdirAll(filepath.Dir(path), 0o755)
		os.WriteFile(path, pretty.Bytes(), 0o644)
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if pretty.String() != string(want) {
		t.Errorf("record (-want +got):\n%s\n%s", want, pretty.String())
	}
}

func intp(i int) *int { return &i }

func TestAsyncRetriesThenOnFailure(t *testing.T) {
	work, workFile := recordFn(t, "work")
	dlq, dlqFile := recordFn(t, "dlq")
	r := newRunner(t, Config{Isolation: IsolationNone, AsyncRetryDelays: []time.Duration{10 * time.Millisecond, 20 * time.Millisecond}}, work, dlq)
	r.SetEventInvokeConfigs(map[string]invocation.EventInvokeConfig{"work": {MaximumRetryAttempts: intp(1),
		OnFailure: FunctionARN("us-east-1", "000000000000", "dlq")}})
	if _, err := r.InvokeAsync(&invocation.Request{FunctionName: "work", Payload: []byte(`{"fail":"boom"}`)}); err != nil {
		t.Fatal(err)
	}
	rec := waitLines(t, dlqFile, 1)
	if n := len(lines(workFile)); n != 2 {
		t.Errorf("work ran %d times, want 2 (1 attempt + 1 retry)", n)
	}
	checkRecord(t, rec[0], "retries-exhausted.json")
}

func TestAsyncOnSuccess(t *testing.T) {
	work, _ := recordFn(t, "work")
	done, doneFile := recordFn(t, "done")
	r := newRunner(t, Config{Isolation: IsolationNone}, work, done)
	r.SetEventInvokeConfigs(map[string]invocation.EventInvokeConfig{"work": {OnSuccess: FunctionARN("us-east-1", "000000000000", "done")}})
	if _, err := r.InvokeAsync(&invocation.Request{FunctionName: "work", Payload: []byte(`{"doc":"a.pdf"}`)}); err != nil {
		t.Fatal(err)
	}
	checkRecord(t, waitLines(t, doneFile, 1)[0], "success.json")
}

// clock is a settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// TestAsyncEventAge: an event that cannot run (reserved concurrency 0:
// throttled) is given up once older than MaximumEventAgeInSeconds, and its
// record goes to OnFailure.
func TestAsyncEventAge(t *testing.T) {
	c := &clock{t: time.Now()}
	work, workFile := recordFn(t, "work")
	work.ReservedConcurrency = 0
	dlq, dlqFile := recordFn(t, "dlq")
	r, err := New(Config{Isolation: IsolationNone, AsyncThrottleDelay: 5 * time.Millisecond, AsyncMaxThrottleDelay: 10 * time.Millisecond}, Deps{Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close(context.Background())
	if err := r.Deploy(context.Background(), []Function{work, dlq}); err != nil {
		t.Fatal(err)
	}
	r.SetEventInvokeConfigs(map[string]invocation.EventInvokeConfig{"work": {MaximumEventAgeInSeconds: intp(60),
		OnFailure: FunctionARN("us-east-1", "000000000000", "dlq")}})
	if _, err := r.InvokeAsync(&invocation.Request{FunctionName: "work", Payload: []byte(`{"late":true}`)}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { q := r.Queues(); return len(q) > 0 && q[0].Depth == 1 })
	c.add(61 * time.Second)
	checkRecord(t, waitLines(t, dlqFile, 1)[0], "event-age-exceeded.json")
	if n := len(lines(workFile)); n != 0 {
		t.Errorf("work ran %d times, want 0", n)
	}
	waitFor(t, func() bool {
		for _, q := range r.Queues() {
			if q.Depth != 0 {
				return false
			}
		}
		return true
	})
}

// TestAsyncSurvivesRestart: an accepted event is on disk; a new runner on
// the same store delivers it.
func TestAsyncSurvivesRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.db")
	store, err := asyncq.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	work, workFile := recordFn(t, "work")
	work.ReservedConcurrency = 0 // never runs in the first life
	r, err := New(Config{Isolation: IsolationNone, AsyncThrottleDelay: time.Hour}, Deps{EventStore: store})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Deploy(context.Background(), []Function{work}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.InvokeAsync(&invocation.Request{FunctionName: "work", Payload: []byte(`{"n":1}`)}); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	store.Close()

	if store, err = asyncq.Open(path); err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	work.ReservedConcurrency = -1
	r2, err := New(Config{Isolation: IsolationNone}, Deps{EventStore: store})
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Close(context.Background())
	if q := r2.Queues(); len(q) != 1 || q[0].Depth != 1 {
		t.Fatalf("queues after restart = %+v, want work with 1 event", q)
	}
	if err := r2.Deploy(context.Background(), []Function{work}); err != nil {
		t.Fatal(err)
	}
	if got := waitLines(t, workFile, 1); got[0] != `{"n":1}` {
		t.Errorf("delivered %s", got[0])
	}
	waitFor(t, func() bool { evs, _ := store.Load(); return len(evs) == 0 })
}

func TestCheckEventInvokeConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  invocation.EventInvokeConfig
		want string // substring of the error; "" for none
	}{
		{"defaults", invocation.EventInvokeConfig{}, ""},
		{"full", invocation.EventInvokeConfig{MaximumRetryAttempts: intp(0), MaximumEventAgeInSeconds: intp(21600),
			OnSuccess: "arn:aws:lambda:us-east-1:000000000000:function:done"}, ""},
		{"retries", invocation.EventInvokeConfig{MaximumRetryAttempts: intp(3)}, "maximumRetryAttempts"},
		{"age low", invocation.EventInvokeConfig{MaximumEventAgeInSeconds: intp(59)}, "maximumEventAgeInSeconds"},
		{"age high", invocation.EventInvokeConfig{MaximumEventAgeInSeconds: intp(21601)}, "maximumEventAgeInSeconds"},
		{"sqs", invocation.EventInvokeConfig{OnFailure: "arn:aws:sqs:us-east-1:000000000000:q"}, "destination ARN"},
		{"bare name", invocation.EventInvokeConfig{OnFailure: "done"}, "destination ARN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckEventInvokeConfig(tt.cfg)
			if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
				t.Errorf("CheckEventInvokeConfig = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestAllows(t *testing.T) {
	work, _ := recordFn(t, "work")
	r := newRunner(t, Config{Isolation: IsolationNone}, work)
	r.SetPermissions(map[string][]Permission{"work": {
		{Action: "lambda:InvokeFunction", Principal: "s3.amazonaws.com", SourceARN: "arn:aws:s3:::docs"},
		{Action: "lambda:*", Principal: "events.amazonaws.com", SourceARN: "arn:aws:events:*:000000000000:rule/*"},
	}})
	tests := []struct {
		name, fn, principal, source string
		want                        bool
	}{
		{"s3 from its bucket", "work", "s3.amazonaws.com", "arn:aws:s3:::docs", true},
		{"by ARN", FunctionARN("us-east-1", "000000000000", "work"), "s3.amazonaws.com", "arn:aws:s3:::docs", true},
		{"s3 from another bucket", "work", "s3.amazonaws.com", "arn:aws:s3:::other", false},
		{"another principal", "work", "sns.amazonaws.com", "arn:aws:s3:::docs", false},
		{"wildcard source", "work", "events.amazonaws.com", "arn:aws:events:us-east-1:000000000000:rule/nightly", true},
		{"unknown function", "nope", "s3.amazonaws.com", "arn:aws:s3:::docs", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := r.Allows(tt.fn, tt.principal, tt.source, ""); got != tt.want {
				t.Errorf("Allows = %v, want %v", got, tt.want)
			}
		})
	}
}
