package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/portico-dev/portico/internal/testtool"
)

// needTool fails under CI (where .ci/run installs it) and skips elsewhere.
func needTool(t *testing.T, ok bool, what string) {
	t.Helper()
	if ok {
		return
	}
	testtool.Missing(t, what, "not installed")
}

// TestWebSocketChat runs examples/chat with real clients: the Python
// websockets package and boto3 (streamed tokens from post_to_connection
// inside the function, refusal, two-way route, 1009, @connections from
// outside, GoneException, a bad signature).
func TestWebSocketChat(t *testing.T) {
	needTool(t, exec.Command("python3", "-c", "import websockets, boto3").Run() == nil, "python websockets and boto3")
	in := up(t, copyExample(t, "chat"))
	url := in.endpoints["chatApi dev"]
	if !strings.HasPrefix(url, "ws://") {
		t.Fatalf("endpoint %q, want ws://", url)
	}
	a := in.admin(t)
	script, _ := filepath.Abs("testdata/websocket/client.py")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "python3", script, url, a.AccessKeyID, a.SecretAccessKey, region).CombinedOutput()
	if err != nil {
		t.Fatalf("client: %v\n%s\nportico:\n%s", err, out, in.stderr.String())
	}
	var got struct {
		Refused      int      `json:"refused"`
		Denied       int      `json:"denied"`
		User         string   `json:"user"`
		Tokens       []string `json:"tokens"`
		Pong         int      `json:"pong"`
		SourceIP     string   `json:"get_source_ip"`
		Outside      string   `json:"outside"`
		TooBig       int      `json:"too_big"`
		Gone         string   `json:"gone"`
		BadSignature string   `json:"bad_signature"`
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &got); err != nil {
		t.Fatalf("client output %s: %v", out, err)
	}
	if got.Refused != 401 || got.Denied != 403 || got.User != "ann" {
		t.Errorf("connect without a user: %d, want 401; as mallory: %d, want 403; authorizer context user %q, want ann", got.Refused, got.Denied, got.User)
	}
	if s := strings.Join(got.Tokens, ""); len(got.Tokens) < 5 || !strings.HasPrefix(s, "You said: hi.") {
		t.Errorf("tokens %q", got.Tokens)
	}
	if got.Pong != 7 || got.SourceIP != "127.0.0.1" || got.Outside != "from outside" {
		t.Errorf("pong %d, get_connection sourceIp %q, post from outside %q", got.Pong, got.SourceIP, got.Outside)
	}
	if got.TooBig != 1009 {
		t.Errorf("oversized message closed with %d, want 1009", got.TooBig)
	}
	if got.Gone != "GoneException" || got.BadSignature != "InvalidSignatureException" {
		t.Errorf("after close: %q; bad signature: %q", got.Gone, got.BadSignature)
	}
}

// TestWebSocketBrowser streams the chat's tokens into a real headless
// Chromium page.
func TestWebSocketBrowser(t *testing.T) {
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		chromium, err = exec.LookPath("chromium-browser")
	}
	needTool(t, err == nil, "chromium")
	in := up(t, copyExample(t, "chat"))
	page, err := os.ReadFile("testdata/websocket/page.html")
	if err != nil {
		t.Fatal(err)
	}
	result := make(chan string, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/result" {
			b, _ := io.ReadAll(r.Body)
			select {
			case result <- string(b):
			default:
			}
			return
		}
		w.Header().Set("Content-Type", "text/html")
		w.Write(page)
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
		"--user-data-dir="+t.TempDir(), srv.URL+"/?ws="+in.endpoints["chatApi dev"])
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	select {
	case got := <-result:
		var toks []string
		if err := json.Unmarshal([]byte(got), &toks); err != nil || !strings.HasPrefix(strings.Join(toks, ""), "You said: from chromium.") {
			t.Errorf("browser got %s", got)
		}
	case <-ctx.Done():
		t.Fatalf("no result from the browser\nportico:\n%s", in.stderr.String())
	}
}

// TestWebSocketLimitFlags: the limits are configurable locally; a short
// idle timeout closes an idle connection with 1001.
func TestWebSocketLimitFlags(t *testing.T) {
	in := up(t, copyExample(t, "chat"), "--websocket-idle-timeout", "300ms", "--websocket-max-message", "1024")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, _, err := websocket.Dial(ctx, in.endpoints["chatApi dev"]+"?user=ann", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	if _, _, err := c.Read(ctx); websocket.CloseStatus(err) != websocket.StatusGoingAway {
		t.Errorf("idle connection: %v, want close 1001", err)
	}
	c2, _, err := websocket.Dial(ctx, in.endpoints["chatApi dev"]+"?user=ann", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.CloseNow()
	c2.Write(ctx, websocket.MessageText, []byte(strings.Repeat("x", 2048)))
	if _, _, err := c2.Read(ctx); websocket.CloseStatus(err) != websocket.StatusMessageTooBig {
		t.Errorf("2 KiB message with a 1 KiB limit: %v, want close 1009", err)
	}
}
