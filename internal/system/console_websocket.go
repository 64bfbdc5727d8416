package system

import (
	"github.com/portico-dev/portico/internal/observe/console"
	"github.com/portico-dev/portico/internal/websocket"
)

// wsConnections shows the open WebSocket connections in the console.
type wsConnections struct{ r *websocket.Registry }

func (w wsConnections) Connections() []console.Connection {
	var out []console.Connection
	for _, c := range w.r.List() {
		out = append(out, console.Connection{ID: c.ID, APIID: c.APIID, Stage: c.Stage, SourceIP: c.SourceIP,
			UserAgent: c.UserAgent, ConnectedAt: c.ConnectedAt, LastActive: c.LastSeen})
	}
	return out
}
