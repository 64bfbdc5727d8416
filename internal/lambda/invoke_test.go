package lambda

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/portico-dev/portico/internal/invocation"
)

func TestInvokeEcho(t *testing.T) {
	r := newRunner(t, Config{}, fn(t, "echo", "goecho"))
	res := invoke(t, r, "echo", `{"hello":"world"}`)
	if string(res.Payload) != `{"hello":"world"}` || res.FunctionError != "" {
		t.Fatalf("result = %s (%q), want the event back", res.Payload, res.FunctionError)
	}
	if res.ContentType != "application/json" || res.ExecutedVersion != "$LATEST" || len(res.RequestID) != 36 {
		t.Errorf("content type %q, version %q, id %q", res.ContentType, res.ExecutedVersion, res.RequestID)
	}
	tail := string(res.LogTail)
	for _, want := range []string{"START RequestId: " + res.RequestID + " Version: $LATEST\n", "echo handler called\n",
		"END RequestId: " + res.RequestID + "\n", "REPORT RequestId: " + res.RequestID + "\tDuration: ", "\tMemory Size: 128 MB\t", "Init Duration: "} {
		if !strings.Contains(tail, want) {
			t.Errorf("log tail lacks %q:\n%s", want, tail)
		}
	}
	if strings.Index(tail, "echo handler called") > strings.Index(tail, "END RequestId") {
		t.Errorf("function output after END:\n%s", tail)
	}
	res2 := invoke(t, r, "echo", `[1,2]`)
	if string(res2.Payload) != `[1,2]` || strings.Contains(string(res2.LogTail), "Init Duration") {
		t.Errorf("warm invoke: %s\n%s", res2.Payload, res2.LogTail)
	}
	if idle, total := r.lookup("echo").counts(); idle != 1 || total != 1 {
		t.Errorf("pool idle/total = %d/%d, want one warm sandbox", idle, total)
	}
	var ctxv map[string]any
	res3 := invoke(t, r, "echo", `{"ctx":true}`)
	json.Unmarshal(res3.Payload, &ctxv)
	if ctxv["requestId"] != res3.RequestID || ctxv["arn"] != "arn:aws:lambda:us-east-1:000000000000:function:echo" {
		t.Errorf("lambda context = %v", ctxv)
	}
}

func TestInvokeUnknownFunction(t *testing.T) {
	r := newRunner(t, Config{}, fn(t, "echo", "goecho"))
	tests := []struct {
		name, fn, qualifier string
		want                string
	}{
		{"unknown", "nope", "", "ResourceNotFoundException: Function not found: arn:aws:lambda:us-east-1:000000000000:function:nope"},
		{"unknown qualifier", "echo", "prod", "ResourceNotFoundException: Function not found: arn:aws:lambda:us-east-1:000000000000:function:echo:prod"},
		{"other account", "arn:aws:lambda:us-east-1:111111111111:function:echo", "", "ResourceNotFoundException: Function not found: arn:aws:lambda:us-east-1:111111111111:function:echo"},
		{"bad name", "a/b", "", "InvalidParameterValueException"},
		{"qualifier mismatch", "echo:1", "2", "InvalidParameterValueException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := r.Invoke(context.Background(), &invocation.Request{FunctionName: tt.fn, Qualifier: tt.qualifier, Payload: []byte(`{}`)})
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("err = %v, want %s", err, tt.want)
			}
		})
	}
	for _, name := range []string{"echo", "echo:$LATEST", "000000000000:function:echo", "arn:aws:lambda:us-east-1:000000000000:function:echo:$LATEST"} {
		if res := invoke(t, r, name, `1`); string(res.Payload) != "1" {
			t.Errorf("%s: %s", name, res.Payload)
		}
	}
}
