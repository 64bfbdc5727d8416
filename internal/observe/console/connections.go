package console

import "time"

// Connections reports the open WebSocket connections. Implementations are
// safe for concurrent use.
type Connections interface {
	Connections() []Connection
}

// Connection is one open WebSocket connection.
type Connection struct {
	ID, APIID, Stage    string
	SourceIP, UserAgent string
	ConnectedAt         time.Time
	LastActive          time.Time
}

// connsView is the page's connections section.
type connsView struct {
	List []Connection
}
