package console

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/observe/live"
)

type conns []Connection

func (c conns) Connections() []Connection { return c }

func TestConnectionsSection(t *testing.T) {
	at := time.Date(2026, 12, 5, 1, 2, 3, 0, time.UTC)
	tests := []struct {
		name  string
		conns Connections
		want  []string
		not   []string
	}{
		{"none configured", nil, nil, []string{"WebSocket connections"}},
		{"empty", conns{}, []string{"0 open", "No open connections."}, nil},
		{"open", conns{{ID: "Ab_cdEFgh-IJklm=", APIID: "abc123", Stage: "dev", SourceIP: "127.0.0.1", UserAgent: "ua", ConnectedAt: at, LastActive: at}},
			[]string{"1 open", "Ab_cdEFgh-IJklm=", "abc123", "01:02:03"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New(Config{Live: live.New(live.Config{}), Connections: tt.conns})
			if err != nil {
				t.Fatal(err)
			}
			w := httptest.NewRecorder()
			c.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
			b, _ := io.ReadAll(w.Body)
			for _, s := range tt.want {
				if !strings.Contains(string(b), s) {
					t.Errorf("page lacks %q", s)
				}
			}
			for _, s := range tt.not {
				if strings.Contains(string(b), s) {
					t.Errorf("page has %q", s)
				}
			}
		})
	}
}
