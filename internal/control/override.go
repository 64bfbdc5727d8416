package control

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/portico-dev/portico/internal/invocation"
	"github.com/portico-dev/portico/internal/lambda"
	"github.com/portico-dev/portico/internal/lambda/invokeapi"
	"github.com/portico-dev/portico/internal/spec"
)

// Functions changed through the Lambda API (UpdateFunctionCode,
// UpdateFunctionConfiguration) keep the spec untouched: each change goes
// into an override layer on top of the spec's function, applied through
// the same apply path as a reload (routes keep serving, warm sandboxes of
// changed functions are replaced), and kept until the spec file changes —
// then the spec alone holds again. docs/management-api.md says more.

// mgmtState is the controller's management state, guarded by its mutex.
type mgmtState struct {
	created   time.Time            // the first apply
	changed   map[string]time.Time // per function: when its running form last changed
	running   map[string]lambda.Function
	overrides map[string]*override

	opsOnce sync.Once      // builds ops, not guarded by the mutex
	ops     *http.ServeMux // the Lambda management patterns, for IsLambdaManagement
}

// override is what the Lambda API changed of one function; nil fields keep
// the spec's value.
type override struct {
	code        string // an extracted package's directory
	codeSize    int64  // the package's size
	codeSha256  string // the package's SHA-256, base64
	handler     *string
	runtime     *string
	description *string
	timeout     *int
	memorySize  *int
	environment map[string]string // with envSet, replaces the spec's
	envSet      bool
}

// apply returns f with o's changes (f itself when o is nil).
func (o *override) apply(f *spec.Function) *spec.Function {
	if o == nil {
		return f
	}
	g := *f
	if o.code != "" {
		g.Code = o.code
	}
	if o.handler != nil {
		g.Handler = *o.handler
	}
	if o.runtime != nil {
		g.Runtime = *o.runtime
	}
	if o.timeout != nil {
		g.Timeout = *o.timeout
	}
	if o.memorySize != nil {
		g.MemorySize = *o.memorySize
	}
	if o.envSet {
		g.Environment = o.environment
	}
	return &g
}

func (o *override) clone() *override {
	if o == nil {
		return &override{}
	}
	c := *o
	c.environment = maps.Clone(o.environment)
	return &c
}

// overlay is the function the runner gets for the spec's f.
func (m *mgmtState) overlay(f *spec.Function) *spec.Function { return m.overrides[f.Name].apply(f) }

// applied records what runs after a successful apply at now.
func (m *mgmtState) applied(fns []lambda.Function, now time.Time) {
	if m.created.IsZero() {
		m.created = now
	}
	running := make(map[string]lambda.Function, len(fns))
	changed := make(map[string]time.Time, len(fns))
	for _, fn := range fns {
		running[fn.Name] = fn
		if prev, ok := m.running[fn.Name]; ok && reflect.DeepEqual(prev, fn) {
			changed[fn.Name] = m.changed[fn.Name]
		} else {
			changed[fn.Name] = now
		}
	}
	m.running, m.changed = running, changed
}

// takeOverrides drops every change made through the Lambda API and returns
// them: the next apply runs the spec's functions as written. The watcher
// calls it when the spec file changes.
func (c *Controller) takeOverrides() map[string]*override {
	c.mu.Lock()
	defer c.mu.Unlock()
	o := c.mgmt.overrides
	c.mgmt.overrides = nil
	return o
}

// restoreOverrides puts back overrides taken for a spec that then failed to
// apply: they still run, so they are still reported.
func (c *Controller) restoreOverrides(o map[string]*override) {
	if o == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.mgmt.overrides == nil {
		c.mgmt.overrides = o
	}
}

func badParameter(format string, args ...any) *invocation.ServiceError {
	return &invocation.ServiceError{Status: http.StatusBadRequest, Type: "InvalidParameterValueException", Message: fmt.Sprintf(format, args...)}
}

// decodeBody decodes a JSON request body into dst and reports the members
// it holds that Portico does not apply (besides the known ones).
func decodeBody(w http.ResponseWriter, r *http.Request, limit int64, dst any, known ...string) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		return &invocation.ServiceError{Status: http.StatusRequestEntityTooLarge, Type: "RequestTooLargeException",
			Message: fmt.Sprintf("Request must be smaller than %d bytes for this operation", limit)}
	}
	var members map[string]json.RawMessage
	if err := json.Unmarshal(body, &members); err != nil {
		return &invocation.ServiceError{Status: http.StatusBadRequest, Type: "InvalidRequestContentException",
			Message: "Could not parse request body into json: " + err.Error()}
	}
	var unknown []string
	for k, v := range members {
		if !slices.Contains(known, k) && string(v) != "null" {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return badParameter("Portico does not apply %s through the Lambda API; set it in the spec", strings.Join(unknown, ", "))
	}
	if err := json.Unmarshal(body, dst); err != nil {
		return &invocation.ServiceError{Status: http.StatusBadRequest, Type: "InvalidRequestContentException",
			Message: "Could not parse request body into json: " + err.Error()}
	}
	return nil
}

// update changes one function's override with change and applies the
// result as a reload does; a failure leaves the function as it was. With
// dryRun nothing is applied. It returns the function's configuration.
func (c *Controller) update(ctx context.Context, r *http.Request, revisionID string, dryRun bool, change func(o *override) error) (functionConfiguration, error) {
	fv, err := c.function(r)
	if err != nil {
		return functionConfiguration{}, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.spec == nil || c.spec.Functions[fv.f.Name] == nil {
		return functionConfiguration{}, &invocation.ServiceError{Status: http.StatusNotFound, Type: "ResourceNotFoundException",
			Message: "Function not found: " + lambda.FunctionARN(c.cfg.Region, c.cfg.AccountID, fv.f.Name)}
	}
	name := fv.f.Name
	cur := c.functionLocked(name)
	if revisionID != "" && revisionID != c.configuration(cur.f, cur.o, cur.at).RevisionID {
		return functionConfiguration{}, &invocation.ServiceError{Status: http.StatusPreconditionFailed, Type: "PreconditionFailedException",
			Message: "The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id"}
	}
	prev := c.mgmt.overrides[name]
	next := prev.clone()
	if err := change(next); err != nil {
		return functionConfiguration{}, err
	}
	if dryRun {
		return c.configuration(cur.f, next, cur.at), nil
	}
	if c.mgmt.overrides == nil {
		c.mgmt.overrides = map[string]*override{}
	}
	c.mgmt.overrides[name] = next
	if err := c.apply(ctx, c.spec, nil); err != nil {
		c.mgmt.overrides[name] = prev
		return functionConfiguration{}, badParameter("The function could not be applied: %v", err)
	}
	cur = c.functionLocked(name)
	return c.configuration(cur.f, cur.o, cur.at), nil
}

var envNameRE = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9_]+$`)

func (c *Controller) updateFunctionConfiguration(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Handler     *string
		Runtime     *string
		Description *string
		Timeout     *int
		MemorySize  *int
		Environment *struct{ Variables map[string]string }
		RevisionID  string `json:"RevisionId"`
	}
	if err := decodeBody(w, r, 1<<20, &in, "Handler", "Runtime", "Description", "Timeout", "MemorySize", "Environment", "RevisionId"); err != nil {
		invokeapi.WriteError(w, err)
		return
	}
	out, err := c.update(r.Context(), r, in.RevisionID, false, func(o *override) error {
		if in.Timeout != nil && (*in.Timeout < 1 || *in.Timeout > 900) {
			return badParameter("1 validation error detected: Value '%d' at 'timeout' failed to satisfy constraint: Member must have value between 1 and 900", *in.Timeout)
		}
		if in.MemorySize != nil && (*in.MemorySize < 128 || *in.MemorySize > 10240) {
			return badParameter("1 validation error detected: Value '%d' at 'memorySize' failed to satisfy constraint: Member must have value between 128 and 10240", *in.MemorySize)
		}
		if in.Runtime != nil && !spec.KnownRuntime(*in.Runtime) {
			return badParameter("Value %s at 'runtime' failed to satisfy constraint: Portico does not run this runtime", *in.Runtime)
		}
		if in.Handler != nil && *in.Handler == "" {
			return badParameter("Handler must not be empty")
		}
		if e := in.Environment; e != nil {
			var reserved []string
			for _, k := range slices.Sorted(maps.Keys(e.Variables)) {
				if !envNameRE.MatchString(k) {
					return badParameter("Invalid environment variable name %q: must match [a-zA-Z][a-zA-Z0-9_]+", k)
				}
				if spec.ReservedEnv(k) {
					reserved = append(reserved, k)
				}
			}
			if len(reserved) > 0 {
				return badParameter("Lambda was unable to configure your environment variables because the environment variables you have provided contains reserved keys that are currently not supported for modification. Reserved keys used in this request: %s", strings.Join(reserved, ","))
			}
			o.environment, o.envSet = maps.Clone(e.Variables), true
		}
		o.handler = or(in.Handler, o.handler)
		o.runtime = or(in.Runtime, o.runtime)
		o.description = or(in.Description, o.description)
		o.timeout = or(in.Timeout, o.timeout)
		o.memorySize = or(in.MemorySize, o.memorySize)
		return nil
	})
	if err != nil {
		invokeapi.WriteError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func or[T any](v, def *T) *T {
	if v != nil {
		return v
	}
	return def
}

// Lambda's limits on a .zip package uploaded directly and on its content.
const (
	maxZipBytes      = 50 << 20
	maxUnzippedBytes = 250 << 20
)

func (c *Controller) updateFunctionCode(w http.ResponseWriter, r *http.Request) {
	var in struct {
		ZipFile    []byte // base64 in JSON, as the SDKs send blobs
		S3Bucket   string
		S3Key      string
		Publish    bool
		DryRun     bool
		RevisionID string `json:"RevisionId"`
	}
	// Base64 makes the 50 MB package about 67 MB of JSON.
	if err := decodeBody(w, r, maxZipBytes*4/3+(1<<20), &in, "ZipFile", "S3Bucket", "S3Key", "Publish", "DryRun", "RevisionId", "Architectures"); err != nil {
		invokeapi.WriteError(w, err)
		return
	}
	switch {
	case len(in.ZipFile) > 0 && in.S3Bucket != "":
		invokeapi.WriteError(w, badParameter("Please do not provide other FunctionCode parameters when providing a ZipFile."))
		return
	case in.S3Bucket != "" || in.S3Key != "":
		data, err := c.readPackage(in.S3Bucket, in.S3Key)
		if err != nil {
			invokeapi.WriteError(w, err)
			return
		}
		in.ZipFile = data
	case len(in.ZipFile) == 0:
		invokeapi.WriteError(w, badParameter("Portico takes the code as ZipFile (--zip-file fileb://package.zip) or as S3Bucket and S3Key of its own store; ImageUri is not supported"))
		return
	}
	if in.Publish {
		invokeapi.WriteError(w, badParameter("Portico does not publish versions: call without --publish"))
		return
	}
	if len(in.ZipFile) > maxZipBytes {
		invokeapi.WriteError(w, &invocation.ServiceError{Status: http.StatusRequestEntityTooLarge, Type: "RequestTooLargeException",
			Message: fmt.Sprintf("Request must be smaller than %d bytes for the UpdateFunctionCode operation", maxZipBytes)})
		return
	}
	sum := sha256.Sum256(in.ZipFile)
	out, err := c.update(r.Context(), r, in.RevisionID, in.DryRun, func(o *override) error {
		name := r.PathValue("name")
		if fr, ok := invocation.ParseFunctionName(name); ok {
			name = fr.Name
		}
		dir, err := c.extractCode(name, hex.EncodeToString(sum[:8]), in.ZipFile, in.DryRun)
		if err != nil {
			return badParameter("Could not unzip uploaded file. Please check your file, then try to upload again. (%v)", err)
		}
		o.code, o.codeSize, o.codeSha256 = dir, int64(len(in.ZipFile)), base64.StdEncoding.EncodeToString(sum[:])
		return nil
	})
	if err != nil {
		invokeapi.WriteError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// readPackage reads a code package from Portico's own store.
func (c *Controller) readPackage(bucket, key string) ([]byte, error) {
	if bucket == "" || key == "" {
		return nil, badParameter("S3Bucket and S3Key are both required")
	}
	st := c.deps.Storage
	if sp := c.Spec(); st == nil || (sp != nil && sp.Storage != nil) {
		return nil, badParameter("S3Bucket and S3Key name objects of Portico's own store, which this system does not run")
	}
	data, err := st.Server.ReadObject(bucket, key, maxZipBytes)
	if err != nil {
		return nil, badParameter("Error occurred while GetObject. S3 Error Code: %v", err)
	}
	return data, nil
}

// extractCode unpacks a .zip package for function name into
// DATA/functions/NAME/ID (validated only, with dryRun) and removes the
// packages older than the previous one. Entries may not leave the
// directory; file modes (executable bits) are kept; symbolic links are
// refused.
func (c *Controller) extractCode(name, id string, data []byte, dryRun bool) (string, error) {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return "", err
	}
	var total uint64
	for _, f := range zr.File {
		if !filepath.IsLocal(filepath.FromSlash(f.Name)) {
			return "", fmt.Errorf("entry %q: outside the package", f.Name)
		}
		if f.Mode()&os.ModeSymlink != 0 {
			return "", fmt.Errorf("entry %q: symbolic links are not supported", f.Name)
		}
		total += f.UncompressedSize64
	}
	if total > maxUnzippedBytes {
		return "", fmt.Errorf("unzipped size %d bytes exceeds %d", total, maxUnzippedBytes)
	}
	if dryRun {
		return "", nil
	}
	base := c.cfg.DataDir
	if base == "" {
		base = filepath.Join(os.TempDir(), "portico")
	}
	parent, err := filepath.Abs(filepath.Join(base, "functions", name))
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(parent, ".upload-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	if err := os.Chmod(tmp, 0o755); err != nil { // sandboxes may run as another user
		return "", err
	}
	var written int64
	for _, f := range zr.File {
		p := filepath.Join(tmp, filepath.FromSlash(f.Name))
		if f.FileInfo().IsDir() {
			if err := os.MkdirAll(p, 0o755); err != nil {
				return "", err
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return "", err
		}
		n, err := writeEntry(f, p, maxUnzippedBytes-written)
		if err != nil {
			return "", fmt.Errorf("entry %q: %w", f.Name, err)
		}
		written += n
	}
	dir := filepath.Join(parent, id)
	if err := os.RemoveAll(dir); err != nil {
		return "", err
	}
	if err := os.Rename(tmp, dir); err != nil {
		return "", err
	}
	c.pruneCode(parent, dir, name)
	return dir, nil
}

// pruneCode removes a function's extracted packages other than keep and
// the one running now (in-flight invocations may still read it).
func (c *Controller) pruneCode(parent, keep, name string) {
	running := ""
	if o := c.mgmt.overrides[name]; o != nil {
		running = o.code
	}
	entries, _ := os.ReadDir(parent)
	for _, e := range entries {
		p := filepath.Join(parent, e.Name())
		if p != keep && p != running && !strings.HasPrefix(e.Name(), ".upload-") {
			_ = os.RemoveAll(p)
		}
	}
}

func writeEntry(f *zip.File, p string, limit int64) (int64, error) {
	rc, err := f.Open()
	if err != nil {
		return 0, err
	}
	defer rc.Close()
	mode := f.Mode().Perm()
	if mode == 0 {
		mode = 0o644
	}
	out, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode|0o400)
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(out, io.LimitReader(rc, limit+1))
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil && n > limit {
		err = errors.New("unzipped content too large")
	}
	return n, err
}
