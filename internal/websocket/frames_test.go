package websocket

import (
	"bytes"
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
)

// TestFrameLimits: AWS's 32 KB frame and 128 KB message quotas, with a
// client that chooses its frames. Over either limit the connection closes
// with 1009 "Message too big" and $disconnect says so; a message in
// frames within the limits arrives whole.
func TestFrameLimits(t *testing.T) {
	const kb = 1 << 10
	tests := []struct {
		name   string
		frames []int // payload sizes of one text message's frames
		want   int   // the message's length in the event, or 0 for 1009
	}{
		{name: "one 33 KB frame", frames: []int{33 * kb}},
		{name: "one 32 KB frame", frames: []int{32 * kb}, want: 32 * kb},
		{name: "100 KB in 32 KB frames", frames: []int{32 * kb, 32 * kb, 32 * kb, 4 * kb}, want: 100 * kb},
		{name: "a 33 KB frame after the first", frames: []int{32 * kb, 33 * kb}},
		{name: "129 KB in 32 KB frames", frames: []int{32 * kb, 32 * kb, 32 * kb, 32 * kb, 1 * kb}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, Limits{}, nil)
			conn := dialRaw(t, h.url("/dev"))
			h.next(t) // $connect
			for i, n := range tt.frames {
				op := ws.OpContinuation
				if i == 0 {
					op = ws.OpText
				}
				f := ws.NewFrame(op, i == len(tt.frames)-1, bytes.Repeat([]byte{'x'}, n))
				if err := ws.WriteFrame(conn, ws.MaskFrameInPlace(f)); err != nil {
					if tt.want == 0 {
						break // the server may have closed already
					}
					t.Fatal(err)
				}
			}
			conn.SetReadDeadline(time.Now().Add(10 * time.Second))
			if tt.want > 0 {
				ev := h.next(t)
				if ev.RequestContext.EventType != EventMessage || ev.Body == nil || len(*ev.Body) != tt.want {
					t.Fatalf("event %s, want a %d-byte message", ev.RequestContext.EventType, tt.want)
				}
				return
			}
			_, err := wsutil.ReadServerText(conn)
			var ce wsutil.ClosedError
			if !errors.As(err, &ce) || ce.Code != ws.StatusMessageTooBig || ce.Reason != "Message too big" {
				t.Fatalf("read: %v, want close 1009 \"Message too big\"", err)
			}
			conn.Close() // as clients do when the server ends the stream
			ev := h.next(t)
			if ev.RequestContext.EventType != EventDisconnect || *ev.RequestContext.DisconnectStatusCode != 1009 ||
				*ev.RequestContext.DisconnectReason != "Message too big" {
				t.Errorf("event %s %v", ev.RequestContext.EventType, ev.RequestContext.DisconnectStatusCode)
			}
		})
	}
	t.Run("an unmasked frame closes with 1002", func(t *testing.T) {
		h := newHarness(t, Limits{}, nil)
		conn := dialRaw(t, h.url("/dev"))
		h.next(t)
		ws.WriteFrame(conn, ws.NewTextFrame([]byte("hi"))) // clients must mask
		conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		var ce wsutil.ClosedError
		if _, err := wsutil.ReadServerText(conn); !errors.As(err, &ce) || ce.Code != ws.StatusProtocolError {
			t.Fatalf("read: %v, want close 1002", err)
		}
		conn.Close()
		if ev := h.next(t); *ev.RequestContext.DisconnectStatusCode != 1002 {
			t.Errorf("disconnect %d, want 1002", *ev.RequestContext.DisconnectStatusCode)
		}
	})
	t.Run("configured frame limit", func(t *testing.T) {
		h := newHarness(t, Limits{MaxFrameBytes: 1024}, nil)
		conn := dialRaw(t, h.url("/dev"))
		h.next(t)
		ws.WriteFrame(conn, ws.MaskFrameInPlace(ws.NewTextFrame(bytes.Repeat([]byte{'x'}, 1025))))
		conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		var ce wsutil.ClosedError
		if _, err := wsutil.ReadServerText(conn); !errors.As(err, &ce) || ce.Code != ws.StatusMessageTooBig {
			t.Fatalf("read: %v, want close 1009", err)
		}
	})
}

// dialRaw opens a WebSocket with gobwas/ws's client, which writes frames
// as the test builds them.
func dialRaw(t *testing.T, url string) net.Conn {
	t.Helper()
	conn, _, _, err := ws.Dial(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}
