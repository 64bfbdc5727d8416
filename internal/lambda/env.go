package lambda

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// defaultPATH is Lambda's default PATH.
const defaultPATH = "/var/lang/bin:/usr/local/bin:/usr/bin/:/bin:/opt/bin"

// reservedEnv are the variables Lambda sets itself; a function's
// Environment may not set them.
var reservedEnv = map[string]bool{
	"_HANDLER": true, "_X_AMZN_TRACE_ID": true, "AWS_DEFAULT_REGION": true, "AWS_REGION": true,
	"AWS_EXECUTION_ENV": true, "AWS_LAMBDA_FUNCTION_NAME": true, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": true,
	"AWS_LAMBDA_FUNCTION_VERSION": true, "AWS_LAMBDA_INITIALIZATION_TYPE": true,
	"AWS_LAMBDA_LOG_GROUP_NAME": true, "AWS_LAMBDA_LOG_STREAM_NAME": true, "AWS_ACCESS_KEY": true,
	"AWS_ACCESS_KEY_ID": true, "AWS_SECRET_ACCESS_KEY": true, "AWS_SESSION_TOKEN": true,
	"AWS_LAMBDA_RUNTIME_API": true, "LAMBDA_TASK_ROOT": true, "LAMBDA_RUNTIME_DIR": true,
}

var envNamePattern = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9_]*$`)

// validateEnv checks a function's own variables: names must match Lambda's
// pattern (so no leading "_") and must not be reserved.
func validateEnv(env map[string]string) error {
	var bad, reserved []string
	for k := range env {
		switch {
		case !envNamePattern.MatchString(k):
			bad = append(bad, strconv.Quote(k))
		case reservedEnv[k]:
			reserved = append(reserved, k)
		}
	}
	sort.Strings(bad)
	sort.Strings(reserved)
	var msgs []string
	if len(bad) > 0 {
		msgs = append(msgs, "invalid environment variable names "+strings.Join(bad, ", ")+
			" (names must start with a letter and contain only letters, digits and _)")
	}
	if len(reserved) > 0 {
		msgs = append(msgs, "reserved environment variable names "+strings.Join(reserved, ", ")+
			" (Lambda sets these itself)")
	}
	if len(msgs) > 0 {
		return fmt.Errorf("%s", strings.Join(msgs, "; "))
	}
	return nil
}

// logStreamName is YYYY/MM/DD/[$LATEST]<32 hex>.
func logStreamName(now time.Time) string {
	var b [16]byte
	rand.Read(b[:])
	return now.UTC().Format("2006/01/02") + "/[$LATEST]" + hex.EncodeToString(b[:])
}

// sandboxEnv is the complete environment of a runtime process: Lambda's
// defaults, the resolver's extras (a PATH extra is prepended to Lambda's
// PATH), the function's own variables, then the reserved variables. Nothing
// of the runner's own environment is included. v says where the runtime
// sees its code (LAMBDA_TASK_ROOT) and its layers.
func (r *Runner) sandboxEnv(fn *Function, cmd *Command, runtimeAPI string, v view) []string {
	env := map[string]string{
		"LANG": "en_US.UTF-8",
		"PATH": defaultPATH,
		"TZ":   ":UTC",
	}
	if r.cfg.AWSEndpoint != "" {
		env["AWS_ENDPOINT_URL"] = r.cfg.AWSEndpoint
	}
	for _, kv := range cmd.Env {
		k, v, _ := strings.Cut(kv, "=")
		if k == "PATH" && v != "" {
			v = v + ":" + defaultPATH
		}
		env[k] = v
	}
	if fn.OptDir != "" {
		opt := v.Opt
		for k, v := range layerEnv(fn.Runtime, opt) {
			if k == "PATH" {
				v = strings.Replace(env["PATH"], "/opt/bin", v, 1)
			}
			env[k] = v
		}
	}
	for k, v := range fn.Environment {
		env[k] = v
	}
	runtimeDir := v.Task
	if p := v.Translate(fn.CodeDir, fn.OptDir, cmd.Path); strings.LastIndexByte(p, '/') > 0 {
		runtimeDir = p[:strings.LastIndexByte(p, '/')]
	}
	reserved := map[string]string{
		"AWS_LAMBDA_FUNCTION_NAME":        fn.Name,
		"AWS_LAMBDA_FUNCTION_VERSION":     "$LATEST",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": strconv.Itoa(fn.MemoryMB),
		"AWS_REGION":                      r.cfg.Region,
		"AWS_DEFAULT_REGION":              r.cfg.Region,
		"_HANDLER":                        fn.Handler,
		"LAMBDA_TASK_ROOT":                v.Task,
		"LAMBDA_RUNTIME_DIR":              runtimeDir,
		"AWS_LAMBDA_RUNTIME_API":          runtimeAPI,
		"AWS_LAMBDA_LOG_GROUP_NAME":       "/aws/lambda/" + fn.Name,
		"AWS_LAMBDA_LOG_STREAM_NAME":      logStreamName(r.now()),
		"AWS_LAMBDA_INITIALIZATION_TYPE":  "on-demand",
	}
	var id, secret, token string
	if r.cfg.Credentials != nil {
		id, secret, token = r.cfg.Credentials(*fn)
	}
	reserved["AWS_ACCESS_KEY_ID"] = id
	reserved["AWS_SECRET_ACCESS_KEY"] = secret
	if token != "" {
		reserved["AWS_SESSION_TOKEN"] = token
	} else {
		// long-term keys (an external store's): an inherited token would
		// make every request fail
		delete(env, "AWS_SESSION_TOKEN")
	}
	if !strings.HasPrefix(fn.Runtime, "provided") {
		reserved["AWS_EXECUTION_ENV"] = "AWS_Lambda_" + fn.Runtime
	} else {
		delete(env, "AWS_EXECUTION_ENV")
	}
	for k, v := range reserved {
		env[k] = v
	}
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	slices.Sort(out)
	return out
}

// layerEnv is what makes layers under optRoot (/opt in a sandbox, OptDir
// itself without one: see view) visible to a runtime, as
// Lambda's runtimes see /opt: for Python, optRoot/python/lib/pythonX.Y/
// site-packages and optRoot/python on sys.path (through PYTHONPATH, after
// the code directory); for Node.js, optRoot/nodejs/nodeN/node_modules and
// optRoot/nodejs/node_modules on NODE_PATH; for every runtime, optRoot/bin
// in PATH where Lambda's PATH has /opt/bin.
func layerEnv(runtime, optRoot string) map[string]string {
	env := map[string]string{"PATH": optRoot + "/bin"}
	switch {
	case strings.HasPrefix(runtime, "python"):
		env["PYTHONPATH"] = optRoot + "/python/lib/" + runtime + "/site-packages:" + optRoot + "/python"
	case strings.HasPrefix(runtime, "nodejs"):
		major := strings.TrimSuffix(strings.TrimPrefix(runtime, "nodejs"), ".x")
		env["NODE_PATH"] = optRoot + "/nodejs/node" + major + "/node_modules:" + optRoot + "/nodejs/node_modules"
	}
	return env
}
