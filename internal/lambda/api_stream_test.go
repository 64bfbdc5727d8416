package lambda

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	smithy "github.com/aws/smithy-go"

	"github.com/portico-dev/portico/internal/invocation"
	"github.com/portico-dev/portico/internal/testtool"
)

// pyStream streams chunks from a generator (a Portico extension): n chunks
// every ms milliseconds, failing after fail chunks when fail >= 0.
const pyStream = `
import time

def handler(event, context):
    return gen(event.get("n", 5), event.get("ms", 100), event.get("fail", -1))

def gen(n, ms, fail):
    for i in range(n):
        if i == fail:
            raise ValueError("broke at %d" % i)
        yield "chunk %d;" % i
        if ms:
            time.sleep(ms / 1000.0)
`

func pyStreamFn(t testing.TB) Function {
	t.Helper()
	if _, err := exec.LookPath("python3"); err != nil {
		testtool.Missing(t, "python3", "not installed")
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "app.py"), []byte(pyStream), 0o644); err != nil {
		t.Fatal(err)
	}
	return Function{Name: "pystream", Runtime: "python3.12", Handler: "app.handler", CodeDir: dir,
		Timeout: 10 * time.Second, MemoryMB: 128, ReservedConcurrency: -1}
}

func TestInvokeWithResponseStreamSDK(t *testing.T) {
	r := newRunner(t, Config{}, pyStreamFn(t), fn(t, "echo", "goecho"))
	_, c := apiServer(t, r)
	ctx := context.Background()

	type event struct {
		at      time.Duration
		chunk   string
		done    bool
		code    string
		details string
		log     string
	}
	read := func(t *testing.T, in *awslambda.InvokeWithResponseStreamInput) (*awslambda.InvokeWithResponseStreamOutput, []event) {
		t.Helper()
		start := time.Now()
		out, err := c.InvokeWithResponseStream(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		st := out.GetStream()
		defer st.Close()
		var evs []event
		for ev := range st.Events() {
			switch v := ev.(type) {
			case *types.InvokeWithResponseStreamResponseEventMemberPayloadChunk:
				evs = append(evs, event{at: time.Since(start), chunk: string(v.Value.Payload)})
			case *types.InvokeWithResponseStreamResponseEventMemberInvokeComplete:
				evs = append(evs, event{at: time.Since(start), done: true, code: aws.ToString(v.Value.ErrorCode),
					details: aws.ToString(v.Value.ErrorDetails), log: aws.ToString(v.Value.LogResult)})
			}
		}
		if err := st.Err(); err != nil {
			t.Fatalf("stream: %v", err)
		}
		return out, evs
	}

	t.Run("chunks arrive one by one", func(t *testing.T) {
		out, evs := read(t, &awslambda.InvokeWithResponseStreamInput{FunctionName: aws.String("pystream"), Payload: []byte(`{"n":5,"ms":100}`)})
		if len(evs) != 6 || !evs[5].done || evs[5].code != "" {
			t.Fatalf("events %+v", evs)
		}
		for i := 0; i < 5; i++ {
			if want := "chunk " + string(rune('0'+i)) + ";"; evs[i].chunk != want {
				t.Errorf("chunk %d = %q, want %q", i, evs[i].chunk, want)
			}
		}
		if evs[4].at-evs[0].at < 300*time.Millisecond {
			t.Errorf("first chunk at %v, last at %v: buffered", evs[0].at, evs[4].at)
		}
		if aws.ToString(out.ExecutedVersion) != "$LATEST" || aws.ToString(out.ResponseStreamContentType) != "application/octet-stream" {
			t.Errorf("version %q, content type %q", aws.ToString(out.ExecutedVersion), aws.ToString(out.ResponseStreamContentType))
		}
	})
	t.Run("error mid-stream ends with InvokeComplete ErrorCode", func(t *testing.T) {
		_, evs := read(t, &awslambda.InvokeWithResponseStreamInput{FunctionName: aws.String("pystream"), Payload: []byte(`{"n":5,"ms":10,"fail":2}`),
			LogType: types.LogTypeTail})
		if len(evs) != 3 || evs[1].chunk != "chunk 1;" || !evs[2].done {
			t.Fatalf("events %+v", evs)
		}
		if evs[2].code != "ValueError" || evs[2].details != "broke at 2" || evs[2].log == "" {
			t.Errorf("InvokeComplete %+v", evs[2])
		}
	})
	t.Run("buffered function is one chunk", func(t *testing.T) {
		_, evs := read(t, &awslambda.InvokeWithResponseStreamInput{FunctionName: aws.String("echo"), Payload: []byte(`{"a":1}`)})
		if len(evs) != 2 || evs[0].chunk != `{"a":1}` || !evs[1].done || evs[1].code != "" {
			t.Errorf("events %+v", evs)
		}
	})
	t.Run("buffered function error", func(t *testing.T) {
		_, evs := read(t, &awslambda.InvokeWithResponseStreamInput{FunctionName: aws.String("pystream"), Payload: []byte(`{"n":3,"ms":0,"fail":0}`)})
		if len(evs) != 1 || evs[0].code != "ValueError" || evs[0].details != "broke at 0" {
			t.Errorf("events %+v", evs)
		}
	})
	bad := []struct {
		name string
		in   *awslambda.InvokeWithResponseStreamInput
		want string
	}{
		{name: "unknown function", in: &awslambda.InvokeWithResponseStreamInput{FunctionName: aws.String("nope")}, want: "ResourceNotFoundException"},
		{name: "payload not JSON", in: &awslambda.InvokeWithResponseStreamInput{FunctionName: aws.String("echo"), Payload: []byte("{")}, want: "InvalidRequestContentException"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.InvokeWithResponseStream(ctx, tt.in)
			var ae smithy.APIError
			if !errors.As(err, &ae) || ae.ErrorCode() != tt.want {
				t.Errorf("err = %v, want %s", err, tt.want)
			}
		})
	}
	t.Run("DryRun", func(t *testing.T) {
		out, err := c.InvokeWithResponseStream(ctx, &awslambda.InvokeWithResponseStreamInput{FunctionName: aws.String("echo"),
			InvocationType: types.ResponseStreamingInvocationTypeDryRun})
		if err != nil || out.StatusCode != 204 {
			t.Errorf("%v %+v", err, out)
		}
	})
}

// countWriter counts chunks.
type countWriter struct {
	n     int
	begun string
}

func (w *countWriter) Begin(ct string) error       { w.begun = ct; return nil }
func (w *countWriter) Write(p []byte) (int, error) { w.n++; return len(p), nil }

func TestInvokeStreamIdleAndCancel(t *testing.T) {
	r := newRunner(t, Config{}, pyStreamFn(t))
	t.Run("idle timeout kills and replaces the sandbox", func(t *testing.T) {
		var w countWriter
		// The function pauses 3 s between its chunks: invocation.ErrStreamIdle after
		// one chunk shows the idle timeout cut it (had it not, all three
		// chunks would have arrived) without timing the call.
		_, err := r.InvokeStream(context.Background(), &invocation.Request{FunctionName: "pystream", Payload: []byte(`{"n":3,"ms":3000}`)}, &w,
			invocation.StreamOptions{IdleTimeout: 500 * time.Millisecond})
		if !errors.Is(err, invocation.ErrStreamIdle) || w.n != 1 {
			t.Errorf("err %v, %d chunks; want ErrStreamIdle after 1", err, w.n)
		}
		res, err := r.InvokeStream(context.Background(), &invocation.Request{FunctionName: "pystream", Payload: []byte(`{"n":2,"ms":0}`)}, &w, invocation.StreamOptions{})
		if err != nil || res.FunctionError != "" || !res.Streamed || res.Bytes != int64(len("chunk 0;chunk 1;")) || res.FirstByte <= 0 {
			t.Errorf("next invocation: %+v, %v", res, err)
		}
	})
	t.Run("cancel mid-stream", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		w := &cancelWriter{cancel: cancel}
		_, err := r.InvokeStream(ctx, &invocation.Request{FunctionName: "pystream", Payload: []byte(`{"n":3,"ms":3000}`)}, w, invocation.StreamOptions{})
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v", err)
		}
		if _, idle := r.lookup("pystream").counts(); idle > 1 {
			t.Errorf("sandboxes: %d", idle)
		}
	})
}

// cancelWriter cancels its invocation at the first chunk.
type cancelWriter struct{ cancel context.CancelFunc }

func (w *cancelWriter) Begin(string) error          { return nil }
func (w *cancelWriter) Write(p []byte) (int, error) { w.cancel(); return len(p), nil }

// BenchmarkInvokeStreamChunk measures the cost per chunk of a stream of
// 1000 small chunks from a Python generator through the runner (runtime
// included: an upper bound of what the runner adds).
func BenchmarkInvokeStreamChunk(b *testing.B) {
	r := newRunner(b, Config{}, pyStreamFn(b))
	var w countWriter
	req := &invocation.Request{FunctionName: "pystream", Payload: []byte(`{"n":1000,"ms":0}`)}
	if _, err := r.InvokeStream(context.Background(), req, &w, invocation.StreamOptions{}); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	chunks := 0
	for i := 0; i < b.N; i++ {
		w.n = 0
		res, err := r.InvokeStream(context.Background(), req, &w, invocation.StreamOptions{})
		if err != nil || res.FunctionError != "" {
			b.Fatal(err, res)
		}
		chunks += w.n
	}
	// Chunks the function yielded (1000 per op); back-to-back yields may
	// reach the writer merged into fewer reads.
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(1000*b.N), "ns/chunk")
	b.ReportMetric(float64(chunks)/float64(b.N), "writes/op")

}
