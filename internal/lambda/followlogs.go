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
	u := strings.TrimSuffix(endpoint, "/") + "/_portico/functions/" + url.PathEscape(name) + "/logs"
	if follow {
		u += "?follow=true"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("logs %s: %w", name, err)
	}
	resp, err := http.DefaultClient.Do(req)
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
