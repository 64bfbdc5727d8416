package spec

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// Access logs, bucket contents and external storage.

// MaxAccessLogFormat is the longest access log format, in bytes (AWS's
// 3 KB quota on the access log template).
const MaxAccessLogFormat = 3072

// accessLogVariables are the $context variables an access log format may
// use: exactly those that observe.Record's field comments name.
var accessLogVariables = []string{
	"$context.requestId", "$context.extendedRequestId",
	"$context.requestTime", "$context.requestTimeEpoch",
	"$context.apiId", "$context.accountId", "$context.stage", "$context.routeKey",
	"$context.httpMethod", "$context.path", "$context.protocol", "$context.domainName",
	"$context.identity.sourceIp", "$context.identity.userAgent", "$context.identity.apiKeyId",
	"$context.xrayTraceId", "$context.status", "$context.responseLength",
	"$context.responseLatency", "$context.integrationLatency", "$context.integration.latency",
	"$context.integration.status", "$context.integrationStatus",
	"$context.integrationErrorMessage", "$context.integration.error",
	"$context.error.message", "$context.error.responseType",
	"$context.authorizer.error", "$context.authorizer.latency", "$context.authorizer.principalId",
	"$context.function.name", "$context.function.coldStart",
	"$context.integration.queueWait",
	"$context.ai.promptTokens", "$context.ai.completionTokens", "$context.ai.model",
}

// AccessLogVariables returns the $context variables an access log format
// may use, each written in full ("$context.requestId"). They are the
// variables documented on observe.Record's fields; any other
// "$context.NAME" in a format is a validation error. The caller owns the
// returned slice.
func AccessLogVariables() []string { return slices.Clone(accessLogVariables) }

// contextVar matches "$context" and the dotted name after it.
var contextVar = regexp.MustCompile(`\$context((?:\.[A-Za-z0-9_]+)*)`)

func (v *validator) accessLog(al *AccessLogSettings, base Pos) {
	v.accessLogDestination(al, base)
	f := al.Format
	if f == "" {
		return
	}
	fp := v.pos.or(&al.Format, base)
	if len(f) > MaxAccessLogFormat {
		v.add(fp, "format: at most %d bytes, got %d", MaxAccessLogFormat, len(f))
	}
	if strings.ContainsAny(f, "\r\n") {
		v.add(fp, "format: must be one line (no line breaks)")
	}
	bare := make([]string, len(accessLogVariables))
	for i, name := range accessLogVariables {
		bare[i] = strings.TrimPrefix(name, "$context.")
	}
	hasID := false
	reported := map[string]bool{}
	for _, m := range contextVar.FindAllStringSubmatch(f, -1) {
		name := strings.TrimPrefix(m[1], ".")
		switch {
		case name == "requestId" || name == "extendedRequestId":
			hasID = true
		case slices.Contains(bare, name):
		case reported[name]:
		case name == "":
			reported[name] = true
			v.add(fp, "format: \"$context\" must be followed by .NAME (a variable such as $context.requestId)")
		default:
			reported[name] = true
			hint := ""
			if s := suggest(name, bare); s != "" {
				hint = fmt.Sprintf(" (did you mean %q?)", "$context."+s)
			}
			v.add(fp, "format: unknown variable %s%s; see docs/spec.md for the supported $context variables", m[0], hint)
		}
	}
	if !hasID {
		v.add(fp, "format: must include at least $context.requestId or $context.extendedRequestId (as on AWS)")
	}
}

func (v *validator) accessLogDestination(al *AccessLogSettings, base Pos) {
	d := al.Destination
	dp := v.pos.or(&al.Destination, base)
	switch d {
	case "stdout", "stderr":
		return
	case "":
		v.add(dp, "destination: must be stdout, stderr or a file path")
		return
	}
	if low := strings.ToLower(d); low == "stdout" || low == "stderr" {
		v.add(dp, "destination: %q: the streams are lower case (did you mean %q?)", d, low)
		return
	}
	path := d
	if !filepath.IsAbs(path) {
		path = filepath.Join(v.spec.Dir, path)
	}
	path = filepath.Clean(path)
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		v.add(dp, "destination: %q is a directory; want a file path", d)
		return
	}
	dir := filepath.Dir(path)
	fi, err := os.Stat(dir)
	switch {
	case os.IsNotExist(err):
		v.add(dp, "destination: directory %q of the log file does not exist", filepath.Dir(d))
		return
	case err != nil:
		v.add(dp, "destination: %q: %v", d, err)
		return
	case !fi.IsDir():
		v.add(dp, "destination: %q of the log file is not a directory", filepath.Dir(d))
		return
	}
	al.Destination = path
}

// existingDir resolves written (relative to the spec's directory) and
// checks that it is a directory, reporting problems as field's. It
// returns the absolute, clean path.
func (v *validator) existingDir(field, written string, p Pos) (string, bool) {
	path := written
	if !filepath.IsAbs(path) {
		path = filepath.Join(v.spec.Dir, path)
	}
	fi, err := os.Stat(path)
	switch {
	case os.IsNotExist(err):
		v.add(p, "%s: directory %q does not exist", field, written)
		return "", false
	case err != nil:
		v.add(p, "%s: %q: %v", field, written, err)
		return "", false
	case !fi.IsDir():
		v.add(p, "%s: %q is not a directory", field, written)
		return "", false
	}
	return filepath.Clean(path), true
}

func (v *validator) bucketContents(b *Bucket) {
	p, given := v.pos.at(&b.Contents)
	if !given {
		return
	}
	if b.Contents == "" {
		v.add(p, "contents: must name a directory (relative to the spec file)")
		return
	}
	if path, ok := v.existingDir("contents", b.Contents, p); ok {
		b.Contents = path
	}
}

var regionName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

func (v *validator) storage(st *Storage) {
	sp := v.pos.or(&v.spec.Storage, Pos{1, 1})
	if st.Endpoint == "" {
		v.add(sp, "storage: endpoint is required (the S3-compatible service's URL, e.g. https://s3.eu-west-1.amazonaws.com)")
	} else if err := checkEndpoint(st.Endpoint); err != nil {
		v.add(v.pos.or(&st.Endpoint, sp), "endpoint: %v", err)
	}
	if !regionName.MatchString(st.Region) {
		v.add(v.pos.or(&st.Region, sp), "region: must be a region name such as us-east-1, got %q", st.Region)
	}
	if st.AccessKeyID == "" || st.SecretAccessKey == "" {
		// Functions get these in place of Portico's own credentials,
		// which an external service would refuse.
		v.add(sp, "storage: accessKeyId and secretAccessKey are required: functions sign their S3 requests with them")
	}
}

// checkEndpoint accepts an absolute http:// or https:// URL with a host
// and no path (other than "/"), query, fragment or user information.
func checkEndpoint(e string) error {
	u, err := url.Parse(e)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Opaque != "" {
		return fmt.Errorf("%q is not an absolute http:// or https:// URL", e)
	}
	if u.Hostname() == "" {
		return fmt.Errorf("%q has no host", e)
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil || strings.HasSuffix(e, "?") {
		return fmt.Errorf("%q must be scheme://host[:port] without a path, query or credentials (buckets are addressed below it)", e)
	}
	return nil
}
