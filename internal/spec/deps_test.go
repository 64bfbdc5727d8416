package spec

import (
	"os/exec"
	"strings"
	"testing"
)

// TestLayering keeps spec a leaf of the module: the resource model must
// not depend on the packages that consume it (lambda, gateway, router),
// nor on any other internal package but the leaf parsers it shares with
// the running system (iam), which import no Portico package themselves.
func TestLayering(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go tool not in PATH")
	}
	out, err := exec.Command(goTool, "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	const module = "github.com/portico-dev/portico/"
	self := module + "internal/spec"
	leaves := map[string]bool{module + "internal/iam": true}
	for _, dep := range strings.Fields(string(out)) {
		if strings.HasPrefix(dep, module) && dep != self && !leaves[dep] {
			t.Errorf("spec imports %s; the spec package must not depend on other Portico packages (in particular internal/lambda, internal/gateway, internal/router)", dep)
		}
	}
}
