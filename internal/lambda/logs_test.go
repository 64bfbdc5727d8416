package lambda

import (
	"bytes"
	"context"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/invocation"
	"github.com/portico-dev/portico/internal/lambda/invokeapi"
)

// filterRunner returns a runner whose function "fn" has a log written at
// known times: two invocations, a and b, run concurrently between 10:01
// and 10:02, then invocation c alone at 10:05.
func filterRunner(t *testing.T) (*Runner, *httptest.Server) {
	t.Helper()
	var mu sync.Mutex
	now := time.Date(2025, 1, 2, 10, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	r, err := New(Config{}, Deps{Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(context.Background()) })
	b, err := r.logBufferFor("fn")
	if err != nil {
		t.Fatal(err)
	}
	at := func(min int, lines ...string) {
		mu.Lock()
		now = time.Date(2025, 1, 2, 10, min, 0, 0, time.UTC)
		mu.Unlock()
		for _, l := range lines {
			b.write([]byte(l))
		}
	}
	at(0, "init line")
	at(1, "START RequestId: a Version: $LATEST", "a: loading order 7")
	at(1, "START RequestId: b Version: $LATEST", `{"level":"ERROR","message":"b: order 9 failed"}`)
	at(2, "a: done", "END RequestId: a", "REPORT RequestId: a\tDuration: 1.00 ms",
		"END RequestId: b", "REPORT RequestId: b\tDuration: 2.00 ms")
	at(5, "START RequestId: c Version: $LATEST", "c: order 7 again", `{"level":"INFO","order":7}`, "END RequestId: c", "REPORT RequestId: c\tDuration: 3.00 ms")
	ts := httptest.NewServer(invokeapi.New(r))
	t.Cleanup(ts.Close)
	return r, ts
}

func TestLogFilter(t *testing.T) {
	r, ts := filterRunner(t)
	tests := []struct {
		name string
		q    LogQuery
		want []string
	}{
		{name: "all", q: LogQuery{}, want: []string{"init line", "START RequestId: a Version: $LATEST", "a: loading order 7",
			"START RequestId: b Version: $LATEST", `{"level":"ERROR","message":"b: order 9 failed"}`, "a: done",
			"END RequestId: a", "REPORT RequestId: a\tDuration: 1.00 ms", "END RequestId: b", "REPORT RequestId: b\tDuration: 2.00 ms",
			"START RequestId: c Version: $LATEST", "c: order 7 again", `{"level":"INFO","order":7}`, "END RequestId: c", "REPORT RequestId: c\tDuration: 3.00 ms"}},
		{name: "since an RFC 3339 time", q: LogQuery{Since: "2025-01-02T10:04:00Z"}, want: []string{
			"START RequestId: c Version: $LATEST", "c: order 7 again", `{"level":"INFO","order":7}`, "END RequestId: c", "REPORT RequestId: c\tDuration: 3.00 ms"}},
		{name: "since a duration", q: LogQuery{Since: "1m"}, want: []string{
			"START RequestId: c Version: $LATEST", "c: order 7 again", `{"level":"INFO","order":7}`, "END RequestId: c", "REPORT RequestId: c\tDuration: 3.00 ms"}},
		{name: "text with invocation context", q: LogQuery{Filter: "order 7"}, want: []string{
			"START RequestId: a Version: $LATEST", "a: loading order 7", "END RequestId: a", "REPORT RequestId: a\tDuration: 1.00 ms",
			"START RequestId: c Version: $LATEST", "c: order 7 again", "END RequestId: c", "REPORT RequestId: c\tDuration: 3.00 ms"}},
		// The JSON line was written while a and b both ran: it belongs to both.
		{name: "text in a JSON line of concurrent invocations", q: LogQuery{Filter: `"level":"ERROR"`}, want: []string{
			"START RequestId: a Version: $LATEST", "START RequestId: b Version: $LATEST", `{"level":"ERROR","message":"b: order 9 failed"}`,
			"END RequestId: a", "REPORT RequestId: a\tDuration: 1.00 ms", "END RequestId: b", "REPORT RequestId: b\tDuration: 2.00 ms"}},
		{name: "text in a JSON line", q: LogQuery{Filter: `"level":"INFO"`}, want: []string{
			"START RequestId: c Version: $LATEST", `{"level":"INFO","order":7}`,
			"END RequestId: c", "REPORT RequestId: c\tDuration: 3.00 ms"}},
		{name: "text outside invocations", q: LogQuery{Filter: "init"}, want: []string{"init line"}},
		{name: "text and since", q: LogQuery{Filter: "order 7", Since: "2025-01-02T10:04:00Z"}, want: []string{
			"START RequestId: c Version: $LATEST", "c: order 7 again", "END RequestId: c", "REPORT RequestId: c\tDuration: 3.00 ms"}},
		{name: "request id", q: LogQuery{RequestID: "c"}, want: []string{
			"START RequestId: c Version: $LATEST", "c: order 7 again", `{"level":"INFO","order":7}`, "END RequestId: c", "REPORT RequestId: c\tDuration: 3.00 ms"}},
		{name: "request id of concurrent invocations", q: LogQuery{RequestID: "b"}, want: []string{
			"START RequestId: b Version: $LATEST", `{"level":"ERROR","message":"b: order 9 failed"}`, "a: done",
			"END RequestId: b", "REPORT RequestId: b\tDuration: 2.00 ms"}},
		{name: "no match", q: LogQuery{Filter: "nothing like it"}, want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := QueryLogs(context.Background(), ts.URL, "fn", tt.q, &buf); err != nil {
				t.Fatal(err)
			}
			want := ""
			if tt.want != nil {
				want = strings.Join(tt.want, "\n") + "\n"
			}
			if buf.String() != want {
				t.Errorf("got:\n%s\nwant:\n%s", buf.String(), want)
			}
		})
	}
	t.Run("FilterLogs", func(t *testing.T) {
		got, ok := r.FilterLogs("fn", invocation.LogFilter{RequestID: "a"})
		if !ok || !bytes.HasPrefix(got, []byte("START RequestId: a")) || !bytes.HasSuffix(got, []byte("Duration: 1.00 ms\n")) {
			t.Errorf("FilterLogs = %q, %v", got, ok)
		}
		if _, ok := r.FilterLogs("nope", invocation.LogFilter{}); ok {
			t.Errorf("FilterLogs of an unknown function: ok")
		}
	})
}

func TestLogFilterBadInput(t *testing.T) {
	_, ts := filterRunner(t)
	tests := []struct {
		name string
		url  string
		want string
	}{
		{name: "unparsable since", url: "/_portico/functions/fn/logs?since=yesterday", want: `Invalid since \"yesterday\": use a duration such as 10m or an RFC 3339 time.`},
		{name: "negative since", url: "/_portico/functions/fn/logs?since=-5m", want: `must not be negative`},
		{name: "bad follow", url: "/_portico/functions/fn/logs?follow=maybe", want: `Invalid follow \"maybe\"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := ts.Client().Get(ts.URL + tt.url)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var b bytes.Buffer
			b.ReadFrom(resp.Body)
			if resp.StatusCode != 400 || resp.Header.Get("x-amzn-ErrorType") != "InvalidParameterValueException" || !strings.Contains(b.String(), tt.want) {
				t.Errorf("%d %s %s", resp.StatusCode, resp.Header.Get("x-amzn-ErrorType"), b.String())
			}
		})
	}
}

func TestLogFilterFollow(t *testing.T) {
	r, ts := filterRunner(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr := &lockedBuffer{}
	done := make(chan error)
	go func() { done <- QueryLogs(ctx, ts.URL, "fn", LogQuery{Follow: true, Filter: "order 8"}, pr) }()
	b := r.logBufferIfExists("fn")
	// Subscribed once the handler holds a subscription.
	waitFor(t, func() bool { b.mu.Lock(); defer b.mu.Unlock(); return len(b.subs) == 1 })
	for _, l := range []string{"START RequestId: d Version: $LATEST", "d: order 8", "d: other", "END RequestId: d",
		"REPORT RequestId: d\tDuration: 1.00 ms", "START RequestId: e Version: $LATEST", "e: nothing", "END RequestId: e", "REPORT RequestId: e"} {
		b.write([]byte(l))
	}
	want := "START RequestId: d Version: $LATEST\nd: order 8\nEND RequestId: d\nREPORT RequestId: d\tDuration: 1.00 ms\n"
	waitFor(t, func() bool { return pr.String() == want })
	if got := pr.String(); got != want {
		t.Errorf("followed:\n%s\nwant:\n%s", got, want)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("QueryLogs after cancel: %v", err)
	}
}

func TestParseSince(t *testing.T) {
	now := time.Date(2025, 1, 2, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		in      string
		want    time.Time
		wantErr bool
	}{
		{name: "minutes", in: "10m", want: now.Add(-10 * time.Minute)},
		{name: "zero", in: "0s", want: now},
		{name: "rfc3339", in: "2025-01-01T00:00:00Z", want: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)},
		{name: "negative", in: "-1m", wantErr: true},
		{name: "garbage", in: "10 minutes", wantErr: true},
		{name: "empty", in: "", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := invocation.ParseSince(tt.in, now)
			if (err != nil) != tt.wantErr || !got.Equal(tt.want) {
				t.Errorf("invocation.ParseSince(%q) = %v, %v", tt.in, got, err)
			}
		})
	}
}
