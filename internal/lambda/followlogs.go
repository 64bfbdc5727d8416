package lambda

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// FollowLogs copies a function's log from a Portico AWS endpoint (e.g.
// "http://127.0.0.1:4566") to w: the buffered lines, then, when follow is
// true, new lines until ctx ends (which is not an error).
func FollowLogs(ctx context.Context, endpoint, name string, follow bool, w io.Writer) error {
	return QueryLogs(ctx, endpoint, name, LogQuery{Follow: follow}, w)
}

// LogQuery selects what QueryLogs prints; see invocation.LogFilter.
type LogQuery struct {
	Follow bool
	// Since is a duration back from now ("10m") or an RFC 3339 time,
	// read by the server (see invocation.ParseSince); empty for all lines.
	Since     string
	Filter    string
	RequestID string
	// Client sends the request (one that signs it, for an endpoint that
	// requires SigV4); nil means http.DefaultClient.
	Client *http.Client
}

// QueryLogs is FollowLogs with the server-side filters of q.
func QueryLogs(ctx context.Context, endpoint, name string, q LogQuery, w io.Writer) error {
	u := strings.TrimSuffix(endpoint, "/") + "/_portico/functions/" + url.PathEscape(name) + "/logs"
	v := url.Values{}
	if q.Follow {
		v.Set("follow", "true")
	}
	if q.Since != "" {
		v.Set("since", q.Since)
	}
	if q.Filter != "" {
		v.Set("filter", q.Filter)
	}
	if q.RequestID != "" {
		v.Set("requestId", q.RequestID)
	}
	if len(v) > 0 {
		u += "?" + v.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("logs %s: %w", name, err)
	}
	client := q.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("logs %s: %w", name, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Message string `json:"message"`
		}
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		if json.Unmarshal(b, &e) != nil || e.Message == "" {
			e.Message = strings.TrimSpace(string(b))
		}
		return fmt.Errorf("logs %s: %s: %s", name, resp.Status, e.Message)
	}
	if _, err := io.Copy(w, resp.Body); err != nil && ctx.Err() == nil {
		return fmt.Errorf("logs %s: %w", name, err)
	}
	return nil
}
