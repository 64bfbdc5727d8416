// Package console serves Portico's web console: plain server-rendered
// pages (html/template) showing the APIs, stages, routes and integrations
// as deployed, the functions with their sandboxes and recent log lines,
// live per-route charts and the most recent requests. A small embedded
// script polls live.json every second and redraws the inline SVG charts;
// nothing is loaded from outside the binary.
//
// The console only reads: it gets the deployment through Topology, the
// functions through Functions, logs through Logs and traffic from a
// *live.Live. Mount it on the admin listener (loopback by default); its
// links are relative, so it can be mounted under a prefix with
// http.StripPrefix as long as the prefix ends in "/".
package console

import (
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/portico-dev/portico/internal/observe/live"
)

// Topology is what is deployed. Implementations return values the console
// may keep and are safe for concurrent use.
type Topology interface {
	APIs() []API
}

// API is one deployed HTTP API.
type API struct {
	ID, Name string
	Stages   []Stage
}

// Stage is one stage of an API and the routes deployed to it.
type Stage struct {
	Name       string
	AutoDeploy bool
	Routes     []Route
}

// Route is a deployed route and the integration it calls.
type Route struct {
	Key string // "GET /items/{id}", "$default"
	// Integration is the integration's name; IntegrationType AWS_PROXY or
	// HTTP_PROXY; Target the function name or the upstream URI.
	Integration, IntegrationType, Target string
	// AuthorizationType is NONE, JWT, CUSTOM or AWS_IAM; Authorizer its
	// name; Scopes the route's authorization scopes.
	AuthorizationType, Authorizer string
	Scopes                        []string
	APIKeyRequired                bool
	// ThrottleRate (requests per second) and ThrottleBurst; zero for none.
	ThrottleRate  float64
	ThrottleBurst int
}

// Functions reports the functions and their sandboxes. Implementations are
// safe for concurrent use.
type Functions interface {
	Functions() []Function
}

// Function is one deployed function and its sandboxes right now.
type Function struct {
	Name, Runtime string
	MemoryMB      int
	// Warm is the number of idle sandboxes ready for an invocation, Busy
	// the number running one; ColdStarts counts sandboxes started so far.
	Warm, Busy int
	ColdStarts int64
	// QueueDepth counts the asynchronous invocations held for the
	// function; QueueAge is the age of the oldest, rounded to seconds.
	QueueDepth int
	QueueAge   time.Duration
}

// Logs reads function logs. Lines are returned without their newlines,
// oldest first. Errors are shown on the page. Implementations are safe for
// concurrent use.
type Logs interface {
	// Tail returns up to n of the function's newest log lines.
	Tail(ctx context.Context, function string, n int) ([]string, error)
	// Invocation returns the log lines of one invocation, from its START
	// line to its REPORT line.
	Invocation(ctx context.Context, function, requestID string) ([]string, error)
}

// Config is what the console shows. Live is required; Topology, Functions
// and Logs may be nil (their sections are then left out).
type Config struct {
	Live      *live.Live
	Topology  Topology
	Functions Functions
	Logs      Logs
	// Connections lists open WebSocket connections; nil leaves the
	// section out.
	Connections Connections
	// Title is shown in the page header; default "Portico".
	Title string
	// Window is how much history the charts show; default 2 minutes.
	Window time.Duration
	// Recent is how many recent requests are listed; default 50.
	Recent int
	// TailLines is how many log lines are shown per function; default 5.
	TailLines int
}

//go:embed templates/*.html static/*
var assets embed.FS

// Console is the console's http.Handler.
type Console struct {
	cfg  Config
	tmpl *template.Template
	mux  *http.ServeMux
}

var _ http.Handler = (*Console)(nil)

// New returns the console. It fails only when cfg.Live is nil.
func New(cfg Config) (*Console, error) {
	if cfg.Live == nil {
		return nil, fmt.Errorf("console: no live store")
	}
	if cfg.Title == "" {
		cfg.Title = "Portico"
	}
	if cfg.Window <= 0 {
		cfg.Window = 2 * time.Minute
	}
	if cfg.Recent <= 0 {
		cfg.Recent = 50
	}
	if cfg.TailLines <= 0 {
		cfg.TailLines = 5
	}
	tmpl, err := template.New("").Funcs(template.FuncMap{
		"join": strings.Join,
		"ms":   ms,
	}).ParseFS(assets, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("console: templates: %w", err)
	}
	c := &Console{cfg: cfg, tmpl: tmpl, mux: http.NewServeMux()}
	c.mux.HandleFunc("GET /{$}", c.serveIndex)
	c.mux.HandleFunc("GET /live.json", c.serveLive)
	c.mux.HandleFunc("GET /logs", c.serveLogs)
	c.mux.Handle("GET /static/", http.FileServerFS(assets))
	return c, nil
}

// ServeHTTP serves the console's pages.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'")
	c.mux.ServeHTTP(w, r)
}

type functionView struct {
	Function
	Logs     []string
	LogError string
}

type indexData struct {
	Title     string
	APIs      []API
	Functions []functionView
	Window    int
	Conns     *connsView // nil: no Connections configured
}

func (c *Console) serveIndex(w http.ResponseWriter, r *http.Request) {
	d := indexData{Title: c.cfg.Title, Window: int(c.cfg.Window / time.Second)}
	if c.cfg.Topology != nil {
		d.APIs = c.cfg.Topology.APIs()
	}
	if c.cfg.Connections != nil {
		d.Conns = &connsView{List: c.cfg.Connections.Connections()}
		sort.Slice(d.Conns.List, func(i, j int) bool { return d.Conns.List[i].ConnectedAt.Before(d.Conns.List[j].ConnectedAt) })
	}
	if c.cfg.Functions != nil {
		for _, f := range c.cfg.Functions.Functions() {
			v := functionView{Function: f}
			if c.cfg.Logs != nil {
				lines, err := c.cfg.Logs.Tail(r.Context(), f.Name, c.cfg.TailLines)
				if err != nil {
					v.LogError = err.Error()
				}
				v.Logs = lines
			}
			d.Functions = append(d.Functions, v)
		}
	}
	c.render(w, "index.html", d)
}

type logsData struct {
	Title, Function, RequestID, Error string
	Lines                             []string
}

func (c *Console) serveLogs(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	d := logsData{Title: c.cfg.Title, Function: q.Get("function"), RequestID: q.Get("request")}
	status := http.StatusOK
	switch {
	case d.Function == "" || d.RequestID == "":
		d.Error, status = "a function and a request id are required", http.StatusBadRequest
	case c.cfg.Logs == nil:
		d.Error, status = "function logs are not available", http.StatusNotFound
	default:
		lines, err := c.cfg.Logs.Invocation(r.Context(), d.Function, d.RequestID)
		if err != nil {
			d.Error, status = err.Error(), http.StatusBadGateway
		} else if len(lines) == 0 {
			d.Error = "no log lines for this request (the function's log buffer may have moved past it)"
		}
		d.Lines = lines
	}
	w.WriteHeader(status)
	c.render(w, "logs.html", d)
}

func (c *Console) render(w http.ResponseWriter, name string, data any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if err := c.tmpl.ExecuteTemplate(w, name, data); err != nil {
		// Headers are out; all that is left is to end the page visibly.
		fmt.Fprintf(w, "\n<p class=error>template error: %s</p>", template.HTMLEscapeString(err.Error()))
	}
}

// liveJSON is live.json: what the script draws.
type liveJSON struct {
	Now      int64         `json:"now"` // unix seconds of the last point
	Routes   []routeJSON   `json:"routes"`
	Requests []requestJSON `json:"requests"`
}

type routeJSON struct {
	API      string    `json:"api"`
	Stage    string    `json:"stage"`
	Route    string    `json:"route"`
	Requests []int     `json:"requests"`
	Errors   []int     `json:"errors"` // 4xx + 5xx
	Errors5  []int     `json:"errors5xx"`
	P50      []float64 `json:"p50"` // ms
	P90      []float64 `json:"p90"`
	P99      []float64 `json:"p99"`
}

type requestJSON struct {
	Time      string  `json:"time"`
	ID        string  `json:"id"`
	API       string  `json:"api"`
	Stage     string  `json:"stage"`
	Route     string  `json:"route"`
	Method    string  `json:"method"`
	Path      string  `json:"path"`
	Status    int     `json:"status"`
	LatencyMS float64 `json:"latencyMs"`
	Function  string  `json:"function,omitempty"`
	Cold      bool    `json:"cold,omitempty"`
	Error     string  `json:"error,omitempty"`
	LogsURL   string  `json:"logs,omitempty"`
}

func (c *Console) serveLive(w http.ResponseWriter, r *http.Request) {
	series := c.cfg.Live.Series(c.cfg.Window)
	out := liveJSON{Routes: make([]routeJSON, 0, len(series)), Requests: []requestJSON{}}
	for _, s := range series {
		api := s.APIName
		if api == "" {
			api = s.APIID
		}
		// Unknown parts are "-", as in access logs and metrics.
		rj := routeJSON{API: orDash(api), Stage: orDash(s.Stage), Route: orDash(s.RouteKey)}
		for _, p := range s.Points {
			rj.Requests = append(rj.Requests, p.Requests)
			rj.Errors = append(rj.Errors, p.Errors4xx+p.Errors5xx)
			rj.Errors5 = append(rj.Errors5, p.Errors5xx)
			rj.P50 = append(rj.P50, ms(p.P50))
			rj.P90 = append(rj.P90, ms(p.P90))
			rj.P99 = append(rj.P99, ms(p.P99))
			out.Now = p.Time.Unix()
		}
		out.Routes = append(out.Routes, rj)
	}
	for _, q := range c.cfg.Live.Recent(c.cfg.Recent) {
		api := q.APIName
		if api == "" {
			api = q.APIID
		}
		rq := requestJSON{Time: q.Time.UTC().Format("15:04:05.000"), ID: q.RequestID, API: orDash(api), Stage: orDash(q.Stage),
			Route: orDash(q.RouteKey), Method: q.Method, Path: q.Path, Status: q.Status, LatencyMS: ms(q.Latency),
			Function: q.Function, Cold: q.ColdStart, Error: q.ErrorType}
		if id := invocationID(q); q.Function != "" && id != "" && c.cfg.Logs != nil {
			rq.LogsURL = "logs?function=" + url.QueryEscape(q.Function) + "&request=" + url.QueryEscape(id)
		}
		out.Requests = append(out.Requests, rq)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(out)
}

// orDash is s, or "-" when s is empty (not known where the request ended).
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// ms is d in milliseconds, rounded to microseconds.
func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// invocationID is the id the function's log knows the request by: the
// Lambda request id when the gateway reported it, else the gateway's.
func invocationID(q live.Request) string {
	if q.FunctionRequestID != "" {
		return q.FunctionRequestID
	}
	return q.RequestID
}
