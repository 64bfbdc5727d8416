package system

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestAdminToken: off loopback, the admin listener asks for the console
// token as a bearer, a cookie, or once in the query.
func TestAdminToken(t *testing.T) {
	const token = "the-token"
	h := requireToken(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "console") }), token)
	srv := httptest.NewServer(h)
	defer srv.Close()
	for _, tc := range []struct {
		name, path, auth, cookie string
		want                     int
	}{
		{"no token", "/metrics", "", "", 401},
		{"wrong bearer", "/metrics", "Bearer nope", "", 401},
		{"bearer", "/metrics", "Bearer " + token, "", 200},
		{"wrong query", "/?token=nope", "", "", 401},
		{"query sets the cookie", "/?token=" + token, "", "", 303},
		{"cookie", "/live.json", "", token, 200},
		{"wrong cookie", "/live.json", "", "nope", 401},
	} {
		req, _ := http.NewRequest("GET", srv.URL+tc.path, nil)
		if tc.auth != "" {
			req.Header.Set("Authorization", tc.auth)
		}
		if tc.cookie != "" {
			req.AddCookie(&http.Cookie{Name: consoleCookie, Value: tc.cookie})
		}
		resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, resp.StatusCode, tc.want)
		}
		if tc.want == 303 && (resp.Header.Get("Location") != "/" || !strings.Contains(resp.Header.Get("Set-Cookie"), "HttpOnly")) {
			t.Errorf("%s: %v", tc.name, resp.Header)
		}
	}
	for addr, want := range map[string]bool{"127.0.0.1:9090": true, "[::1]:9090": true, "localhost:9090": true, "0.0.0.0:9090": false, ":9090": false, "192.168.1.2:9090": false} {
		if got := isLoopback(addr); got != want {
			t.Errorf("isLoopback(%q) = %v", addr, got)
		}
	}
}
