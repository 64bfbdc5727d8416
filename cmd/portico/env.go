package main

import (
	"context"
	"crypto/subtle"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/portico-dev/portico/internal/awsauth"
	"github.com/portico-dev/portico/internal/pulumiyaml"
)

// Environment variables through which the user gives `portico up` its
// admin credentials and console token instead of generated ones.
const (
	envAdminKeyID  = "PORTICO_ADMIN_ACCESS_KEY_ID"
	envAdminSecret = "PORTICO_ADMIN_SECRET_ACCESS_KEY"
	envConsoleTok  = "PORTICO_CONSOLE_TOKEN"
)

// givenAdmin is what the user gave through the environment.
func givenAdmin() awsauth.Admin {
	return awsauth.Admin{AccessKeyID: os.Getenv(envAdminKeyID), SecretAccessKey: os.Getenv(envAdminSecret), ConsoleToken: os.Getenv(envConsoleTok)}
}

// cmdEnv prints the shell lines that point AWS SDKs and CLIs at a running
// Portico with its admin credentials: eval "$(portico env)".
func cmdEnv(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("env", flag.ContinueOnError)
	fs.SetOutput(stderr)
	file := fs.String("f", "portico.yaml", "spec file of the instance (its state directory is .portico beside it)")
	dataDir := fs.String("data-dir", "", "the instance's state directory, as given to `portico up --data-dir`")
	awsListen := fs.String("aws-listen", "127.0.0.1:4566", "the instance's --aws-listen address")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 1 {
		return errors.New("usage: portico env [-f portico.yaml | DIR] [--data-dir DIR] [--aws-listen ADDR]")
	}
	if len(pos) == 1 {
		*file = filepath.Join(pos[0], pulumiyaml.ProjectFile)
	}
	dir := dataDirFor(*file, *dataDir)
	a, err := awsauth.ReadAdmin(dir)
	if err != nil {
		return fmt.Errorf("%w (has `portico up` run with this spec or --data-dir?)", err)
	}
	host, port, err := net.SplitHostPort(*awsListen)
	if err != nil {
		return fmt.Errorf("--aws-listen %q: %w", *awsListen, err)
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	for _, kv := range [][2]string{
		{"AWS_ENDPOINT_URL", "http://" + net.JoinHostPort(host, port)},
		{"AWS_ACCESS_KEY_ID", a.AccessKeyID},
		{"AWS_SECRET_ACCESS_KEY", a.SecretAccessKey},
		{"AWS_DEFAULT_REGION", region},
	} {
		fmt.Fprintf(stdout, "export %s=%s\n", kv[0], shellQuote(kv[1]))
	}
	// A session token left over from real AWS credentials would make every
	// request fail.
	fmt.Fprintln(stdout, "unset AWS_SESSION_TOKEN AWS_PROFILE")
	return nil
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("_-./:+=@", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// instanceFlags find a running instance's admin credentials for the
// commands that call it: its state directory, from the spec file or
// --data-dir as `portico up` takes them.
type instanceFlags struct {
	fs            *flag.FlagSet
	file, dataDir *string
}

// addInstanceFlags adds -f (unless the command has it: pass it) and
// --data-dir to fs.
func addInstanceFlags(fs *flag.FlagSet, file *string) *instanceFlags {
	if file == nil {
		file = fs.String("f", "portico.yaml", "spec file of the running instance (its admin credentials are in .portico beside it)")
	}
	return &instanceFlags{fs: fs, file: file,
		dataDir: fs.String("data-dir", "", "the running instance's state directory, as given to `portico up --data-dir`")}
}

// client returns an HTTP client that signs every request with the
// instance's admin credentials (awsauth.Signer): from its state
// directory, or — when neither -f nor --data-dir was given and there is
// none here — from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (as
// `eval "$(portico env)"` sets them).
func (f *instanceFlags) client() (*http.Client, awsauth.Admin, error) {
	a, err := awsauth.ReadAdmin(dataDirFor(*f.file, *f.dataDir))
	if errors.Is(err, fs.ErrNotExist) && !isSet(f.fs, "f") && !isSet(f.fs, "data-dir") {
		if id, secret := os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY"); id != "" && secret != "" {
			a, err = awsauth.Admin{AccessKeyID: id, SecretAccessKey: secret}, nil
		}
	}
	if err != nil {
		return nil, awsauth.Admin{}, fmt.Errorf("%w (run in the directory of the running spec, pass -f or --data-dir, or eval \"$(portico env)\")", err)
	}
	return &http.Client{Transport: &awsauth.Signer{AccessKeyID: a.AccessKeyID, SecretAccessKey: a.SecretAccessKey, Region: region}}, a, nil
}

func isSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

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
