package pulumiyaml

import "github.com/portico-dev/portico/internal/spec"

// tFnURL is a Lambda function URL.
const tFnURL = "aws:lambda:FunctionUrl"

// functionURLProps are the FunctionUrl properties Portico translates.
var functionURLProps = []string{"functionName", "authorizationType", "invokeMode", "cors"}

// functionURL translates a FunctionUrl into its function's url.
func (t *translation) functionURL(r *resource) {
	l := t.l
	fn := l.refTo(r, "functionName", true, tFunction)
	if fn == nil {
		return
	}
	m := t.b.mapping(pos(r.node), "functions", t.key[fn], "url")
	if s, n, ok := l.str(r, "authorizationType", true); ok {
		set(m, "authorizationType", s, pos(n))
	}
	if s, n, ok := l.str(r, "invokeMode", false); ok {
		set(m, "invokeMode", s, pos(n))
	}
	t.cors(r, "cors", "functions", t.key[fn], "url", "cors")
}

// functionURLOutputs are a FunctionUrl's computed outputs: functionUrl in
// AWS's shape (https://{urlId}.lambda-url.{region}.on.aws/) and urlId,
// derived from the function's name as Portico serves it.
func functionURLOutputs(out map[string]any, prop func(string) (string, bool)) {
	if fn, ok := prop("functionName"); ok {
		id := spec.DeriveURLID(fn)
		out["urlId"] = id
		out["functionUrl"] = "https://" + id + ".lambda-url." + Region + ".on.aws/"
	}
}
