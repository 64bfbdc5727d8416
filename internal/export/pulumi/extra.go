package pulumi

import (
	"fmt"
	"io/fs"
	"path/filepath"
	"sort"
	"strings"

	"github.com/portico-dev/portico/internal/spec"
)

// notesForExtensions records every Portico extension the spec uses, which
// the exported program cannot express on AWS.
func (g *gen) notesForExtensions() {
	sp := g.sp
	for _, k := range sortedKeys(sp.AccessKeys) {
		g.note("accessKeys.%s: create an IAM user or role for SigV4 callers on AWS", k)
	}
	for _, k := range sortedKeys(sp.UsagePlans) {
		g.note("usagePlans.%s: API keys and usage plans exist only for REST APIs", k)
		if sp.UsagePlans[k].TokenLimits != nil {
			g.note("usagePlans.%s.tokenLimits: model token limits", k)
		}
	}
	for _, k := range sortedKeys(sp.APIKeys) {
		g.note("apiKeys.%s: API keys exist only for REST APIs", k)
	}
	if sp.Storage != nil {
		g.note("storage: buckets are created in S3 itself")
	}
	for _, k := range sortedKeys(sp.Functions) {
		if sp.Functions[k].Interpreter != "" {
			g.note("functions.%s.interpreter: AWS runs the runtime's own interpreter", k)
		}
	}
	if a := sp.Account; a != nil && ((a.ThrottlingRateLimit != nil && *a.ThrottlingRateLimit != spec.DefaultAccountRateLimit) ||
		(a.ThrottlingBurstLimit != nil && *a.ThrottlingBurstLimit != spec.DefaultAccountBurstLimit)) {
		g.note("account throttle: AWS sets the account's limits (ask AWS Support to change them)")
	}
	for _, an := range sortedKeys(sp.APIs) {
		a := sp.APIs[an]
		for _, in := range sortedKeys(a.Integrations) {
			i := a.Integrations[in]
			p := fmt.Sprintf("apis.%s.integrations.%s", an, in)
			if i.MaxConcurrency != nil {
				g.note("%s.maxConcurrency/maxQueue/queueTimeoutInMillis: request queue", p)
			}
			if i.OpenAICompatible {
				g.note("%s.openAICompatible: OpenAI token metering", p)
			}
			if i.URI == "" && len(i.Upstreams) > 1 {
				g.note("%s.upstreams: failover; only the first upstream by priority is exported", p)
			}
			if i.InvokeMode != "" && i.InvokeMode != "BUFFERED" {
				g.note("%s.invokeMode %s: HTTP APIs buffer responses; %s", p, i.InvokeMode, g.streamingURLNote(a, in, i))
			}
			if i.IdleTimeoutInMillis != nil {
				g.note("%s.idleTimeoutInMillis: idle timeout", p)
			}
			if i.TimeoutInMillis > maxIntegrationTimeout {
				g.note("%s.timeoutInMillis %d: AWS caps it at %d, exported as %d", p, i.TimeoutInMillis, maxIntegrationTimeout, maxIntegrationTimeout)
			}
		}
		for _, rk := range sortedKeys(a.Routes) {
			if a.Routes[rk].APIKeyRequired {
				g.note("apis.%s.routes[%q].apiKeyRequired: HTTP APIs have no API keys", an, rk)
			}
		}
		for _, sn := range sortedKeys(a.Stages) {
			st := a.Stages[sn]
			if st.DefaultRouteSettings != nil && st.DefaultRouteSettings.TokenLimits != nil {
				g.note("apis.%s.stages.%s.defaultRouteSettings.tokenLimits: model token limits", an, sn)
			}
			for _, rk := range sortedKeys(st.RouteSettings) {
				if st.RouteSettings[rk].TokenLimits != nil {
					g.note("apis.%s.stages.%s.routeSettings[%q].tokenLimits: model token limits", an, sn, rk)
				}
			}
		}
	}
	for i := range g.notes {
		g.notes[i] = "not exported: Portico extension: " + g.notes[i]
	}
}

// goDirective returns the version of gomod's go directive, or "".
func goDirective(gomod string) string {
	for _, line := range strings.Split(gomod, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "go "); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// listFiles returns the slash-separated paths of the regular files under
// dir, sorted, skipping Portico's state directories.
func listFiles(dir string) ([]string, error) {
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == ".portico" && p != dir {
			return filepath.SkipDir
		}
		if d.Type().IsRegular() {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	sort.Strings(out)
	return out, err
}

// readme renders README.md for the program in lang.
func (g *gen) readme(project string, lang Language) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s: Pulumi program\n\n", project)
	fmt.Fprintf(&b, "Exported by `portico export pulumi` from `%s`. It deploys the same functions, roles,\n", filepath.Base(g.sp.File))
	b.WriteString("buckets and HTTP APIs to AWS with [Pulumi](https://www.pulumi.com) and its AWS provider (pulumi-aws v6).\n")
	b.WriteString("It also creates what API Gateway needs on AWS and Portico does not: a `lambda.Permission` per\n")
	b.WriteString("function an API invokes, and a CloudWatch log group per stage access log.\n\n")
	b.WriteString("## What you need\n\n")
	switch lang {
	case Python:
		b.WriteString("- The Pulumi CLI (`curl -fsSL https://get.pulumi.com | sh`) and Python 3.9+.\n")
	case TypeScript:
		b.WriteString("- The Pulumi CLI (`curl -fsSL https://get.pulumi.com | sh`) and Node.js 18+ with npm.\n")
	default:
		b.WriteString("- The Pulumi CLI (`curl -fsSL https://get.pulumi.com | sh`) and Go")
		if v := goDirective(goModTemplate); v != "" {
			fmt.Fprintf(&b, " (go.mod asks for Go %s; an older\n  Go 1.21+ fetches that toolchain itself)", v)
		}
		b.WriteString(".\n")
	}
	b.WriteString("- AWS credentials the AWS SDK finds: `aws configure`, `AWS_PROFILE`, or `AWS_ACCESS_KEY_ID` and\n  `AWS_SECRET_ACCESS_KEY`.\n\n")
	switch lang {
	case Python:
		b.WriteString("`requirements.txt` pins the Pulumi SDKs. `pulumi up` creates the virtualenv `venv` and installs\n")
		b.WriteString("them itself (`Pulumi.yaml` says `toolchain: pip`, `virtualenv: venv`); no other step is required.\n\n")
	case TypeScript:
		b.WriteString("`package.json` and `package-lock.json` pin the Pulumi SDKs, TypeScript and every package they\n")
		b.WriteString("use: run `npm ci` once, then `pulumi up` compiles `index.ts` itself (no `tsc` step).\n\n")
	default:
		b.WriteString("`go.mod` and `go.sum` are included and complete: they pin the Pulumi SDKs and every module they\n")
		b.WriteString("use, so there is no `go mod tidy` to run. `pulumi up` builds the program itself (the first build\n")
		b.WriteString("downloads the modules); no `go build` or `go test` step is required.\n\n")
	}
	b.WriteString("## Deploy\n\n```sh\n")
	for _, name := range g.goFuncs {
		fmt.Fprintf(&b, "(cd functions/%s && go mod tidy && GOOS=linux GOARCH=amd64 CGO_ENABLED=0 go build -tags lambda.norpc -o bootstrap .)\n", name)
	}
	if lang == TypeScript {
		b.WriteString("npm ci\n")
	}
	b.WriteString("pulumi login --local                   # or your Pulumi Cloud account\n")
	b.WriteString("pulumi stack init dev\n")
	b.WriteString("pulumi config set aws:region us-east-1  # your region\n")
	b.WriteString("pulumi up\n")
	b.WriteString("curl \"$(pulumi stack output api_endpoint)\"\n")
	b.WriteString("```\n\n")
	if len(g.goFuncs) > 0 {
		b.WriteString("Functions with Go sources (" + strings.Join(g.goFuncs, ", ") + ") run on the `provided` runtime: build each\n")
		b.WriteString("one's `bootstrap` as above before `pulumi up`; the program archives that file alone.\n\n")
	}
	b.WriteString("With several APIs or stages, each stage's URL is exported as `api_endpoint_API_STAGE`.\n")
	b.WriteString("`pulumi destroy` removes everything again.\n\n")
	b.WriteString("## Not exported\n\n")
	if len(g.notes) == 0 {
		b.WriteString("Nothing: the spec uses no Portico extensions.\n")
	}
	for _, n := range g.notes {
		fmt.Fprintf(&b, "- %s\n", n)
	}
	return []byte(b.String())
}
