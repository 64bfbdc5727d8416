package system

import (
	"crypto/subtle"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// isLoopback reports whether a listen address only accepts connections
// from this machine: a loopback IP or localhost.
func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// consoleCookie carries the console token once a browser has opened the
// console's URL with ?token=.
const consoleCookie = "portico_console_token"

// requireToken lets a request through to h only with token: as
// "Authorization: Bearer TOKEN" (Prometheus, curl), or in the cookie set
// when the console is opened with ?token=TOKEN (which then redirects to the
// URL without it). Anything else gets 401.
func requireToken(h http.Handler, token string) http.Handler {
	ok := func(v string) bool { return v != "" && subtle.ConstantTimeCompare([]byte(v), []byte(token)) == 1 }
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if v := r.URL.Query().Get("token"); v != "" && ok(v) {
			http.SetCookie(w, &http.Cookie{Name: consoleCookie, Value: token, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode})
			u := *r.URL
			q := u.Query()
			q.Del("token")
			u.RawQuery = q.Encode()
			http.Redirect(w, r, (&url.URL{Path: u.Path, RawQuery: u.RawQuery}).String(), http.StatusSeeOther)
			return
		}
		bearer, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		c, _ := r.Cookie(consoleCookie)
		if ok(bearer) || c != nil && ok(c.Value) {
			h.ServeHTTP(w, r)
			return
		}
		w.Header().Set("WWW-Authenticate", `Bearer realm="portico"`)
		http.Error(w, "401 Unauthorized: this listener needs Portico's console token (printed by `portico up`)", http.StatusUnauthorized)
	})
}
