package redisconn_test

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/redisconn"
	"github.com/portico-dev/portico/internal/throttle/redistest"
)

func TestDial(t *testing.T) {
	srv := redistest.Start(t)
	c, err := redisconn.Dial(context.Background(), srv.URL, 200*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Redis().Set(context.Background(), "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
}

func TestDialRefuses(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "redis://" + ln.Addr().String() + "/0"
	ln.Close()
	tests := []struct {
		name    string
		url     string
		timeout time.Duration
		want    string
	}{
		{"bad scheme", "http://127.0.0.1:6379", time.Second, "redis: url:"},
		{"zero timeout", "redis://127.0.0.1:6379", 0, "must be > 0"},
		{"nothing listening", closed, 100 * time.Millisecond, "redis: ping 127.0.0.1:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := redisconn.Dial(context.Background(), tt.url, tt.timeout)
			if err == nil {
				c.Close()
				t.Fatal("want error")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}
