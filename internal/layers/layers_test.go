package layers

import (
	"os/exec"
	"sort"
	"strings"
	"testing"
)

const module = "github.com/portico-dev/portico/"

// rule forbids the packages under any of from to depend, directly or not,
// on any package under to (paths relative to the module, "x" covering x
// and x/..., "x$" x alone).
type rule struct {
	name     string
	from, to []string
}

var rules = []rule{
	{"internal does not import cmd", []string{"internal"}, []string{"cmd"}},
	{"only the command and tests start the whole system", []string{"internal"}, []string{"internal/system"}},
	{"the request path does not link the runner or the control plane",
		[]string{"internal/gateway", "internal/router", "internal/observe", "internal/authz",
			"internal/throttle", "internal/cors", "internal/edge", "internal/integration/httpproxy"},
		[]string{"internal/lambda", "internal/control"}},
	{"the Invoke API reaches the runner only through its interface",
		[]string{"internal/lambda/invokeapi"}, []string{"internal/lambda", "internal/control"}},
	{"execution environments and pools do not reach back into the runner",
		[]string{"internal/lambda/execenv", "internal/lambda/warmpool"},
		[]string{"internal/lambda$", "internal/lambda/invokeapi", "internal/control"}},
	{"the resource model does not import the runtime",
		[]string{"internal/spec"},
		[]string{"internal/lambda", "internal/control", "internal/gateway", "internal/s3",
			"internal/authz", "internal/integration", "internal/pulumirun", "internal/observe"}},
}

// exceptions are known violations, "from -> to" (exact package paths),
// each with the issue that removes it. An exception that no longer occurs
// fails the test, so the list only shrinks.
var exceptions = map[string]string{}

// leaves must import no package of the module: the shared wire kit and the
// invocation contract callers and observers share with the runner.
var leaves = []string{
	"internal/atomicfile", "internal/httptoken", "internal/invocation",
	"internal/redisconn", "internal/xrayid", "internal/iam",
}

// graph is each module package's module dependencies (transitive, without
// tests), paths relative to the module.
func graph(t *testing.T) map[string][]string {
	t.Helper()
	cmd := exec.Command("go", "list", "-f", `{{.ImportPath}}{{range .Deps}} {{.}}{{end}}`, "./...")
	cmd.Dir = "../.."
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	g := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		pkg, ok := strings.CutPrefix(f[0], module)
		if !ok {
			continue
		}
		g[pkg] = nil
		for _, d := range f[1:] {
			if d, ok := strings.CutPrefix(d, module); ok {
				g[pkg] = append(g[pkg], d)
			}
		}
	}
	if len(g) < 20 {
		t.Fatalf("go list found %d packages: not the module root?", len(g))
	}
	return g
}

func under(pkg string, roots []string) bool {
	for _, r := range roots {
		if exact, ok := strings.CutSuffix(r, "$"); ok {
			if pkg == exact {
				return true
			}
			continue
		}
		if pkg == r || strings.HasPrefix(pkg, r+"/") {
			return true
		}
	}
	return false
}

// violations lists the edges of g that break rules or leaves, and the
// exceptions that no longer occur.
func violations(g map[string][]string, rules []rule, exceptions map[string]string, leaves []string) []string {
	seen := map[string]bool{}
	var broken []string
	for _, r := range rules {
		for pkg, deps := range g {
			if !under(pkg, r.from) {
				continue
			}
			for _, d := range deps {
				if !under(d, r.to) {
					continue
				}
				edge := pkg + " -> " + d
				if _, ok := exceptions[edge]; ok {
					seen[edge] = true
					continue
				}
				broken = append(broken, r.name+": "+edge)
			}
		}
	}
	for _, l := range leaves {
		deps, ok := g[l]
		if !ok {
			broken = append(broken, "leaf "+l+": no such package")
		}
		for _, d := range deps {
			broken = append(broken, "leaves import nothing of the module: "+l+" -> "+d)
		}
	}
	for e := range exceptions {
		if !seen[e] {
			broken = append(broken, "exception "+e+" no longer occurs: remove it")
		}
	}
	sort.Strings(broken)
	return broken
}

func TestLayers(t *testing.T) {
	for _, b := range violations(graph(t), rules, exceptions, leaves) {
		t.Error(b)
	}
}

func TestViolations(t *testing.T) {
	g := map[string][]string{
		"internal/gateway":      {"internal/router", "internal/lambda/pool"},
		"internal/router":       nil,
		"internal/lambda/pool":  {"internal/xrayid", "internal/lambda", "internal/lambda/sandbox"},
		"internal/xrayid":       {"internal/router"},
		"internal/authz/x":      {"internal/lambda"},
		"internal/spec":         {"internal/iam"},
		"internal/iam":          nil,
		"internal/lambda":       nil,
		"internal/observe/nope": nil,
	}
	rs := []rule{{"r", []string{"internal/gateway", "internal/authz"}, []string{"internal/lambda"}},
		{"exact", []string{"internal/lambda/pool"}, []string{"internal/lambda$"}}}
	ex := map[string]string{"internal/authz/x -> internal/lambda": "issue", "internal/observe/nope -> internal/lambda": "issue"}
	got := violations(g, rs, ex, []string{"internal/xrayid", "internal/iam", "internal/gone"})
	want := []string{
		"exact: internal/lambda/pool -> internal/lambda",
		"exception internal/observe/nope -> internal/lambda no longer occurs: remove it",
		"leaf internal/gone: no such package",
		"leaves import nothing of the module: internal/xrayid -> internal/router",
		"r: internal/gateway -> internal/lambda/pool",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("violations =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
