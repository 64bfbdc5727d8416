package throttle

import (
	"context"
	"io"
	"log"
	"os"
	"testing"

	"github.com/redis/go-redis/v9"
)

type quietLogger struct{ l *log.Logger }

func (q quietLogger) Printf(_ context.Context, format string, v ...any) { q.l.Printf(format, v...) }

func TestMain(m *testing.M) {
	// go-redis logs every failed dial through a process-wide logger; the
	// failure tests provoke hundreds of them on purpose.
	redis.SetLogger(quietLogger{log.New(io.Discard, "", 0)})
	os.Exit(m.Run())
}
