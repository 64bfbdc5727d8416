package control

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/portico-dev/portico/internal/invocation"
	"github.com/portico-dev/portico/internal/lambda"
	"github.com/portico-dev/portico/internal/lambda/invokeapi"
	"github.com/portico-dev/portico/internal/spec"
)

// Lambda's function management on the AWS endpoint, in the shapes of
// botocore's lambda model: ListFunctions, GetFunction,
// GetFunctionConfiguration, GetPolicy, ListEventSourceMappings (read), and
// UpdateFunctionCode and UpdateFunctionConfiguration (write, see
// override.go).

// LambdaHandler serves Lambda's management operations and passes every
// other request to next (the runner's Invoke API) when next has a pattern
// for it (a *http.ServeMux or *invokeapi.Handler: see patterns), or always
// when next cannot tell; what neither serves answers 501 NotImplemented in
// Lambda's error shape, never a plain-text 404.
func (c *Controller) LambdaHandler(next http.Handler) http.Handler {
	mux := http.NewServeMux()
	for _, op := range c.lambdaOperations() {
		mux.HandleFunc(op.pattern, op.serve)
	}
	nextMux, _ := next.(patterns)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if nextMux != nil {
			if _, pattern := nextMux.Handler(r); pattern != "" {
				next.ServeHTTP(w, r)
				return
			}
		} else if next != nil {
			next.ServeHTTP(w, r)
			return
		}
		invokeapi.WriteError(w, &invocation.ServiceError{Status: http.StatusNotImplemented, Type: "NotImplemented",
			Message: unsupported("Lambda", r).Error()})
	})
	return mux
}

// patterns is a handler that tells which of its patterns serves a request
// (http.ServeMux.Handler's contract).
type patterns interface {
	Handler(*http.Request) (http.Handler, string)
}

type operation struct {
	pattern string
	serve   http.HandlerFunc
}

// lambdaOperations are the Lambda management operations LambdaHandler
// serves.
func (c *Controller) lambdaOperations() []operation {
	return []operation{
		{"GET /2015-03-31/functions", c.listFunctions},
		{"GET /2015-03-31/functions/{$}", c.listFunctions},
		{"GET /2015-03-31/functions/{name}", c.getFunction},
		{"GET /2015-03-31/functions/{name}/configuration", c.getFunctionConfiguration},
		{"PUT /2015-03-31/functions/{name}/configuration", c.updateFunctionConfiguration},
		{"PUT /2015-03-31/functions/{name}/code", c.updateFunctionCode},
		{"GET /2015-03-31/functions/{name}/policy", c.getPolicy},
		{"GET /2015-03-31/event-source-mappings", c.listEventSourceMappings},
		{"GET /2015-03-31/event-source-mappings/{$}", c.listEventSourceMappings},
	}
}

// IsLambdaManagement reports whether r is one of the Lambda management
// operations LambdaHandler serves (as opposed to Invoke and the other
// operations of the function runner), for an authorisation gate that
// admits only the admin to management.
func (c *Controller) IsLambdaManagement(r *http.Request) bool {
	c.mgmt.opsOnce.Do(func() {
		c.mgmt.ops = http.NewServeMux()
		for _, op := range c.lambdaOperations() {
			c.mgmt.ops.HandleFunc(op.pattern, op.serve)
		}
	})
	_, pattern := c.mgmt.ops.Handler(r)
	return pattern != ""
}

type environmentOut struct {
	Variables map[string]string `json:"Variables"`
}

// functionConfiguration is Lambda's FunctionConfiguration.
type functionConfiguration struct {
	FunctionName     string            `json:"FunctionName"`
	FunctionArn      string            `json:"FunctionArn"`
	Runtime          string            `json:"Runtime"`
	Role             string            `json:"Role,omitempty"`
	Handler          string            `json:"Handler"`
	CodeSize         int64             `json:"CodeSize"`
	Description      string            `json:"Description"`
	Timeout          int               `json:"Timeout"`
	MemorySize       int               `json:"MemorySize"`
	LastModified     string            `json:"LastModified"`
	CodeSha256       string            `json:"CodeSha256"`
	Version          string            `json:"Version"`
	Environment      *environmentOut   `json:"Environment,omitempty"`
	TracingConfig    map[string]string `json:"TracingConfig"`
	RevisionID       string            `json:"RevisionId"`
	State            string            `json:"State"`
	LastUpdateStatus string            `json:"LastUpdateStatus"`
	PackageType      string            `json:"PackageType"`
	Architectures    []string          `json:"Architectures"`
	EphemeralStorage map[string]int    `json:"EphemeralStorage"`
	LoggingConfig    map[string]string `json:"LoggingConfig"`
}

// architecture is the instruction set functions run on here.
func architecture() string {
	if runtime.GOARCH == "arm64" {
		return "arm64"
	}
	return "x86_64"
}

// lambdaTime is Lambda's LastModified format.
func lambdaTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000-0700") }

// configuration is the FunctionConfiguration of f with its override (o,
// may be nil), last changed at.
func (c *Controller) configuration(f *spec.Function, o *override, at time.Time) functionConfiguration {
	eff := o.apply(f)
	out := functionConfiguration{
		FunctionName: f.Name, FunctionArn: lambda.FunctionARN(c.cfg.Region, c.cfg.AccountID, f.Name),
		Runtime: eff.Runtime, Handler: eff.Handler, Timeout: eff.Timeout, MemorySize: eff.MemorySize,
		LastModified: lambdaTime(at), Version: "$LATEST", TracingConfig: map[string]string{"Mode": "PassThrough"},
		State: "Active", LastUpdateStatus: "Successful", PackageType: "Zip", Architectures: []string{architecture()},
		EphemeralStorage: map[string]int{"Size": 512},
		LoggingConfig:    map[string]string{"LogFormat": "Text", "LogGroup": "/aws/lambda/" + f.Name},
	}
	if f.Role != "" {
		out.Role = "arn:aws:iam::" + c.cfg.AccountID + ":role/" + f.Role
	}
	if o != nil && o.description != nil {
		out.Description = *o.description
	}
	if len(eff.Environment) > 0 {
		out.Environment = &environmentOut{Variables: eff.Environment}
	}
	if o != nil && o.codeSha256 != "" {
		out.CodeSize, out.CodeSha256 = o.codeSize, o.codeSha256
	} else {
		out.CodeSize, out.CodeSha256 = dirDigest(eff.Code)
	}
	// A revision changes with every change of the configuration or code.
	b, _ := json.Marshal(out)
	sum := sha256.Sum256(append(b, at.Format(time.RFC3339Nano)...))
	h := hex.EncodeToString(sum[:16])
	out.RevisionID = h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
	return out
}

// dirDigest is a code directory's total file size and a SHA-256 (base64,
// as Lambda's CodeSha256) of its file names, sizes and modification times
// (bytecode caches and hidden directories left out).
func dirDigest(dir string) (int64, string) {
	var size int64
	h := sha256.New()
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.IsDir() {
			if n := d.Name(); p != dir && (n == "__pycache__" || strings.HasPrefix(n, ".")) {
				return filepath.SkipDir // written by the runtimes, not part of the code
			}
			return nil
		}
		if fi, err := d.Info(); err == nil {
			size += fi.Size()
			fmt.Fprintf(h, "%s:%d:%d;", p, fi.Size(), fi.ModTime().UnixNano())
		}
		return nil
	})
	return size, base64.StdEncoding.EncodeToString(h.Sum(nil))
}

// functionView is what a Lambda management request reads of one function.
type functionView struct {
	f  *spec.Function
	o  *override
	at time.Time
}

// functions returns the applied spec's functions, sorted by name, with
// their overrides.
func (c *Controller) functions() []functionView {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.spec == nil {
		return nil
	}
	var out []functionView
	for _, name := range sortedKeys(c.spec.Functions) {
		out = append(out, c.functionLocked(name))
	}
	return out
}

func (c *Controller) functionLocked(name string) functionView {
	at := c.mgmt.changed[name]
	if at.IsZero() {
		at = c.mgmt.created
	}
	return functionView{f: c.spec.Functions[name], o: c.mgmt.overrides[name], at: at}
}

// function finds the function of the request's {name} (a name or an ARN).
func (c *Controller) function(r *http.Request) (functionView, error) {
	ref := r.PathValue("name")
	fr, ok := invocation.ParseFunctionName(ref)
	name, qualifier := fr.Name, fr.Qualifier
	if !ok {
		return functionView{}, &invocation.ServiceError{Status: http.StatusBadRequest, Type: "InvalidParameterValueException",
			Message: fmt.Sprintf("1 validation error detected: Value '%s' at 'functionName' failed to satisfy constraint: Member must satisfy regular expression pattern", ref)}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	notFound := &invocation.ServiceError{Status: http.StatusNotFound, Type: "ResourceNotFoundException",
		Message: "Function not found: " + lambda.FunctionARN(c.cfg.Region, c.cfg.AccountID, name)}
	if c.spec == nil || c.spec.Functions[name] == nil {
		return functionView{}, notFound
	}
	if qualifier != "" && qualifier != "$LATEST" {
		notFound.Message += ":" + qualifier
		return functionView{}, notFound
	}
	return c.functionLocked(name), nil
}

func (c *Controller) listFunctions(w http.ResponseWriter, r *http.Request) {
	var all []functionConfiguration
	for _, fv := range c.functions() {
		all = append(all, c.configuration(fv.f, fv.o, fv.at))
	}
	items, next, err := page(all, r.URL.Query(), lambdaPaging)
	if err != nil {
		invokeapi.WriteError(w, &invocation.ServiceError{Status: http.StatusBadRequest, Type: "InvalidParameterValueException", Message: err.Error()})
		return
	}
	if items == nil {
		items = []functionConfiguration{}
	}
	body := map[string]any{"Functions": items}
	if next != "" {
		body["NextMarker"] = next
	}
	writeJSON(w, http.StatusOK, body)
}

func (c *Controller) getFunction(w http.ResponseWriter, r *http.Request) {
	fv, err := c.function(r)
	if err != nil {
		invokeapi.WriteError(w, err)
		return
	}
	code := fv.o.apply(fv.f).Code
	body := map[string]any{
		"Configuration": c.configuration(fv.f, fv.o, fv.at),
		// The code is a directory on this machine, not a package in S3.
		"Code": map[string]string{"RepositoryType": "S3", "Location": (&url.URL{Scheme: "file", Path: filepath.ToSlash(code)}).String()},
		"Tags": map[string]string{},
	}
	if rc := fv.f.ReservedConcurrency; rc != nil {
		body["Concurrency"] = map[string]int{"ReservedConcurrentExecutions": *rc}
	}
	writeJSON(w, http.StatusOK, body)
}

func (c *Controller) getFunctionConfiguration(w http.ResponseWriter, r *http.Request) {
	fv, err := c.function(r)
	if err != nil {
		invokeapi.WriteError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, c.configuration(fv.f, fv.o, fv.at))
}

// getPolicy answers as Lambda does for a function without a resource-based
// policy: Portico does not model them.
func (c *Controller) getPolicy(w http.ResponseWriter, r *http.Request) {
	if _, err := c.function(r); err != nil {
		invokeapi.WriteError(w, err)
		return
	}
	invokeapi.WriteError(w, &invocation.ServiceError{Status: http.StatusNotFound, Type: "ResourceNotFoundException",
		Message: "The resource you requested does not exist."})
}

// listEventSourceMappings lists none: Portico has no event sources.
func (c *Controller) listEventSourceMappings(w http.ResponseWriter, r *http.Request) {
	if _, _, err := page([]struct{}{}, r.URL.Query(), lambdaPaging); err != nil {
		invokeapi.WriteError(w, &invocation.ServiceError{Status: http.StatusBadRequest, Type: "InvalidParameterValueException", Message: err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"EventSourceMappings": []struct{}{}})
}
