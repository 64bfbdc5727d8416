package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
)

const wireSpec = `functions:
  wireFunction:
    runtime: python3.12
    handler: handler.main
    code: ./app
apis:
  wireApi:
    protocolType: WEBSOCKET
    routeSelectionExpression: $request.body.action
    integrations:
      wire: {type: AWS_PROXY, function: wireFunction}
    routes:
      $connect: {integration: wire}
      $default: {integration: wire, routeResponseSelectionExpression: $default}
    stages:
      dev: {}
`

const wireApp = `import json


def main(event, context):
    if event["requestContext"]["routeKey"] == "$connect":
        print("CONNECT-HEADERS " + json.dumps(sorted(event["headers"])), flush=True)
        return {"statusCode": 200}
    return {"statusCode": 200, "body": str(len(event.get("body") or ""))}
`

// TestWebSocketWire drives a WebSocket API through the binary with a raw
// client: the $connect event names headers as the client spelt them (as
// AWS does), a message in frames within --websocket-max-frame arrives
// whole, and a larger frame closes the connection with 1009.
func TestWebSocketWire(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "app"), 0o755)
	os.WriteFile(filepath.Join(dir, "app", "handler.py"), []byte(wireApp), 0o644)
	spec := filepath.Join(dir, "portico.yaml")
	os.WriteFile(spec, []byte(wireSpec), 0o644)
	in := up(t, spec, "--websocket-max-frame", "4096")
	url := in.endpoints["wireApi dev"]
	hostPort := strings.TrimSuffix(strings.TrimPrefix(url, "ws://"), "/dev")

	c, err := net.Dial("tcp", hostPort)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Minute))
	io.WriteString(c, "GET /dev HTTP/1.1\r\nhost: "+hostPort+"\r\nx-custom-Header: v\r\nupgrade: websocket\r\n"+
		"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("handshake: %v %v\nportico:\n%s", resp, err, in.stderr.String())
	}

	var names []string
	for deadline := time.Now().Add(30 * time.Second); names == nil; time.Sleep(20 * time.Millisecond) {
		if _, line, ok := strings.Cut(in.stderr.String(), "CONNECT-HEADERS "); ok {
			line, _, _ = strings.Cut(line, "\n")
			if err := json.Unmarshal([]byte(line), &names); err != nil {
				t.Fatalf("headers %q: %v", line, err)
			}
		} else if time.Now().After(deadline) {
			t.Fatalf("no $connect event\nportico:\n%s", in.stderr.String())
		}
	}
	for _, want := range []string{"host", "x-custom-Header", "upgrade", "Connection", "Sec-WebSocket-Key", "Sec-WebSocket-Version", "X-Forwarded-For"} {
		if !slices.Contains(names, want) {
			t.Errorf("$connect headers %q lack %q", names, want)
		}
	}
	for _, canonical := range []string{"Host", "X-Custom-Header", "Sec-Websocket-Key"} {
		if slices.Contains(names, canonical) {
			t.Errorf("$connect headers %q have Go's %q", names, canonical)
		}
	}

	rw := struct {
		io.Reader
		io.Writer
	}{br, c}
	frames := []int{4096, 4096, 1808}
	for i, n := range frames {
		op := ws.OpContinuation
		if i == 0 {
			op = ws.OpText
		}
		ws.WriteFrame(c, ws.MaskFrameInPlace(ws.NewFrame(op, i == len(frames)-1, bytes.Repeat([]byte("x"), n))))
	}
	if got, err := wsutil.ReadServerText(rw); err != nil || string(got) != "10000" {
		t.Fatalf("a 10 000-byte message in 4 KiB frames: reply %q %v, want 10000", got, err)
	}
	ws.WriteFrame(c, ws.MaskFrameInPlace(ws.NewTextFrame(bytes.Repeat([]byte("x"), 4097))))
	var ce wsutil.ClosedError
	if _, err := wsutil.ReadServerText(rw); !errors.As(err, &ce) || ce.Code != ws.StatusMessageTooBig {
		t.Fatalf("a 4097-byte frame: %v, want close 1009", err)
	}
}
