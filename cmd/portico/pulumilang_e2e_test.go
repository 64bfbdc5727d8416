package main

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/testtool"
)

// copyProgram copies a Pulumi program's directory to dst, leaving out what
// running it leaves behind (virtualenvs, node_modules, .portico, caches).
func copyProgram(t testing.TB, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			switch d.Name() {
			case "venv", "node_modules", ".portico", "__pycache__":
				return filepath.SkipDir
			}
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// shareVirtualenv points the Python program in dir at a virtualenv shared
// by this package's tests (in the system's temporary directory, keyed by
// the program's requirements.txt): the first `portico up` installs the
// requirements into it from PyPI, later ones find it up to date. Tests that
// use it must not run in parallel.
func shareVirtualenv(t testing.TB, dir string) {
	t.Helper()
	req, err := os.ReadFile(filepath.Join(dir, "requirements.txt"))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(req)
	venv := filepath.Join(os.TempDir(), "portico-e2e-venv-"+hex.EncodeToString(sum[:6]))
	if _, err := os.Stat(filepath.Join(venv, "bin", "python")); err != nil {
		if out, err := exec.Command("python3", "-m", "venv", venv).CombinedOutput(); err != nil {
			t.Fatalf("python3 -m venv: %v\n%s", err, out)
		}
	}
	if err := os.Symlink(venv, filepath.Join(dir, "venv")); err != nil {
		t.Fatal(err)
	}
}

// TestPulumiPythonSeed serves the seed's own Pulumi Python program
// (examples/seed-pulumi-python) run on the real Pulumi SDK and pulumi-aws
// with Portico as the engine: it prints the program's output, and GET /v1/
// answers as examples/seed does.
func TestPulumiPythonSeed(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "seed-pulumi-python")
	copyProgram(t, filepath.Join("..", "..", "examples", "seed-pulumi-python"), dir)
	shareVirtualenv(t, dir)
	stdout, stderr, endpoints := upProgram(t, dir)
	checkSeedServed(t, stdout.String(), stderr.String(), endpoints, "__main__.py:43")
}

// TestPulumiPythonStrict: with --strict the seed's program behaves as on
// AWS, where API Gateway may not invoke a function without an
// aws:lambda:Permission: GET /v1/ answers 500 {"message":"Internal Server
// Error"}.
func TestPulumiPythonStrict(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "seed-pulumi-python")
	copyProgram(t, filepath.Join("..", "..", "examples", "seed-pulumi-python"), dir)
	shareVirtualenv(t, dir)
	_, stderr, endpoints := upProgram(t, dir, "--strict")
	resp, body := get(t, endpoints["v1"]+"/?text=fast")
	if resp.StatusCode != 500 || body != `{"message":"Internal Server Error"}` {
		t.Errorf("GET /v1/ with --strict: %d %s, want 500 {\"message\":\"Internal Server Error\"}\nstderr:\n%s", resp.StatusCode, body, stderr.String())
	}
}

// checkSeedServed checks a running seed program: its output, GET /v1/ as
// examples/seed answers it, its api_endpoint output answering locally, and
// the warning that AWS would answer 500 (no aws:lambda:Permission; the
// integration registered at where).
func checkSeedServed(t *testing.T, stdout, stderr string, endpoints map[string]string, where string) {
	t.Helper()
	ep := endpoints["v1"]
	if ep == "" || !regexp.MustCompile(`Outputs:\n    api_endpoint: "http://127\.0\.0\.1:\d+"\n`).MatchString(stdout) {
		t.Fatalf("output:\n%s\nstderr:\n%s", stdout, stderr)
	}
	if resp, body := get(t, ep+"/?text=fast+and+accurate"); resp.StatusCode != 200 || !strings.Contains(body, `"label": "positive"`) {
		t.Errorf("GET /v1/: %d %s\nstderr:\n%s", resp.StatusCode, body, stderr)
	}
	url := regexp.MustCompile(`api_endpoint: "([^"]+)"`).FindStringSubmatch(stdout)[1]
	if resp, body := get(t, url+"/v1/?text=slow"); resp.StatusCode != 200 || !strings.Contains(body, `"label"`) {
		t.Errorf("GET api_endpoint/v1/: %d %s", resp.StatusCode, body)
	}
	// where is FILE:LINE; the column follows when the SDK sends one.
	if want := `integration lambdaIntegration \(` + regexp.QuoteMeta(where) + `(:\d+)?\) invokes function aiServiceFunction, but no aws:lambda:Permission`; !regexp.MustCompile(want).MatchString(stderr) {
		t.Errorf("stderr lacks the warning %q:\n%s", want, stderr)
	}
}

// seedProgram is the seed document's Pulumi Python program as the
// document spells it: on one line, every run of white space one space.
const seedProgram = `import pulumi import pulumi_aws as aws # Create the role for Lambda Function lambda_role = aws.iam.Role("lambdaRole", assume_role_policy="""{ "Version": "2012-10-17", "Statement": [ { "Action": "sts:AssumeRole", "Principal": { "Service": "lambda.amazonaws.com" }, "Effect": "Allow", "Sid": "" } ] }""" ) # Attach the AWSLambdaBasicExecutionRole policy to the role basic_execution_policy_attachment = aws.iam.RolePolicyAttachment("basicExecution", role=lambda_role, policy_arn="arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole" ) # Define the Lambda Function lambda_function = aws.lambda_.Function("aiServiceFunction", role=lambda_role.arn, runtime="python3.8", handler="handler.main", # Assuming 'handler.py' file with a 'main' function. code=pulumi.AssetArchive({ ".": pulumi.FileArchive("./app") # Assuming your Lambda function code is in 'app' directory }) ) # Define the HTTP API api = aws.apigatewayv2.Api("aiServicesHttpApi", protocol_type="HTTP" ) # Create an integration for the Lambda function integration = aws.apigatewayv2.Integration("lambdaIntegration", api_id=api.id, integration_type="AWS_PROXY", integration_uri=lambda_function.invoke_arn ) # Create a route for GET requests route = aws.apigatewayv2.Route("apiGETRoute", api_id=api.id, route_key="GET /", target=pulumi.Output.concat("integrations/", integration.id) ) # Deploy the API stage = aws.apigatewayv2.Stage("apiStage", api_id=api.id, name="v1", auto_deploy=True ) # Export the API endpoint for easy access pulumi.export("api_endpoint", api.api_endpoint)`

// TestSeedPythonProgramIsTheDocuments: examples/seed-pulumi-python holds
// the seed's program exactly as the document has it, line breaks and
// indentation aside; its handler is examples/seed's.
func TestSeedPythonProgramIsTheDocuments(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("..", "..", "examples", "seed-pulumi-python", "__main__.py"))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(strings.Fields(string(src)), " "); got != seedProgram {
		t.Errorf("__main__.py differs from the seed document's program:\n%s\nwant:\n%s", got, seedProgram)
	}
	h1, err1 := os.ReadFile(filepath.Join("..", "..", "examples", "seed", "app", "handler.py"))
	h2, err2 := os.ReadFile(filepath.Join("..", "..", "examples", "seed-pulumi-python", "app", "handler.py"))
	if err1 != nil || err2 != nil || string(h1) != string(h2) {
		t.Errorf("examples/seed-pulumi-python/app/handler.py must be examples/seed/app/handler.py (%v, %v)", err1, err2)
	}
}

// TestPulumiPythonProgramReloads edits a running Pulumi Python program: a
// config change is rerun and served; an exception is reported at the
// program's own line and the previous configuration keeps serving.
func TestPulumiPythonProgramReloads(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "good")
	copyProgram(t, filepath.Join("..", "..", "internal", "pulumirun", "testdata", "python", "good"), dir)
	req, err := os.ReadFile(filepath.Join("..", "..", "examples", "seed-pulumi-python", "requirements.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "requirements.txt"), req, 0o644); err != nil {
		t.Fatal(err)
	}
	shareVirtualenv(t, dir)
	_, stderr, endpoints := upProgram(t, dir)
	checkReload(t, dir, stderr, endpoints, "__main__.py", "undefined_name.apply(print)\n", func(line int) string {
		return "__main__.py:" + strconv.Itoa(line) + ": NameError: name 'undefined_name' is not defined"
	})
}

// checkReload edits a running "good" test program in dir (its $default
// stage in endpoints): a config change is rerun and served; appending bad
// to its file main breaks it, and the error want(line of bad) is reported
// while the previous configuration keeps serving.
func checkReload(t *testing.T, dir string, stderr *syncBuffer, endpoints map[string]string, main, bad string, want func(line int) string) {
	t.Helper()
	ep := endpoints["$default"]
	hello := func() string {
		_, body := get(t, ep+"hello")
		return body
	}
	if got := hello(); got != "hello from pulumi" {
		t.Fatalf("GET /hello = %q, want the greeting of Pulumi.dev.yaml\nstderr:\n%s", got, stderr.String())
	}
	if err := os.WriteFile(filepath.Join(dir, "Pulumi.dev.yaml"), []byte("config:\n  good:greeting: portico\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	waitFor(t, programWait, func() bool { return hello() == "hello from portico" })

	src, err := os.ReadFile(filepath.Join(dir, main))
	if err != nil {
		t.Fatal(err)
	}
	w := want(strings.Count(string(src), "\n") + 1)
	if err := os.WriteFile(filepath.Join(dir, main), append(src, []byte(bad)...), 0o644); err != nil {
		t.Fatal(err)
	}
	waitFor(t, programWait, func() bool { return strings.Contains(stderr.String(), w) })
	if !strings.Contains(stderr.String(), "the running configuration keeps serving") {
		t.Errorf("stderr lacks the reload failure:\n%s", stderr.String())
	}
	if got := hello(); got != "hello from portico" {
		t.Errorf("after a failed rerun GET /hello = %q, want the previous configuration", got)
	}
}

// shareNodeModules points the Node.js program in dir at a node_modules
// shared by this package's tests (in the system's temporary directory,
// keyed by the program's package-lock.json, installed once with npm ci and
// stamped as `portico up` stamps it). Tests that use it must not run in
// parallel.
func shareNodeModules(t testing.TB, dir string) {
	t.Helper()
	if _, err := exec.LookPath("npm"); err != nil {
		testtool.Missing(t, "npm", "not installed")
	}
	lock, err := os.ReadFile(filepath.Join(dir, "package-lock.json"))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(lock)
	hash := hex.EncodeToString(sum[:])
	shared := filepath.Join(os.TempDir(), "portico-e2e-node-"+hash[:12])
	stamp := filepath.Join(shared, "node_modules", ".portico-lock-sha256")
	if _, err := os.Stat(stamp); err != nil {
		if err := os.MkdirAll(shared, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{"package.json", "package-lock.json"} {
			data, err := os.ReadFile(filepath.Join(dir, f))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(shared, f), data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		cmd := exec.Command("npm", "ci", "--no-audit", "--no-fund")
		cmd.Dir = shared
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("npm ci: %v\n%s", err, out)
		}
		if err := os.WriteFile(stamp, []byte(hash+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(filepath.Join(shared, "node_modules"), filepath.Join(dir, "node_modules")); err != nil {
		t.Fatal(err)
	}
}

// TestPulumiTypeScriptSeed serves the seed's program written in TypeScript
// (examples/seed-pulumi-ts), compiled by the Pulumi Node.js SDK's own
// ts-node support and run with Portico as the engine; and `portico up`
// warns at start that the program, like the seed's, lacks the
// aws:lambda:Permission AWS needs.
func TestPulumiTypeScriptSeed(t *testing.T) {
	root := t.TempDir()
	// The program uses the Python example's function code: copy both.
	copyProgram(t, filepath.Join("..", "..", "examples", "seed-pulumi-python"), filepath.Join(root, "seed-pulumi-python"))
	dir := filepath.Join(root, "seed-pulumi-ts")
	copyProgram(t, filepath.Join("..", "..", "examples", "seed-pulumi-ts"), dir)
	shareNodeModules(t, dir)
	stdout, stderr, endpoints := upProgram(t, dir)
	checkSeedServed(t, stdout.String(), stderr.String(), endpoints, "index.ts:43")
}

// TestCommandsFindPrograms: `portico validate` and `portico up` take a
// directory (a Pulumi program or a spec), a file (Pulumi.yaml or a spec),
// or nothing (the current directory), and say what they want otherwise.
func TestCommandsFindPrograms(t *testing.T) {
	root := t.TempDir()
	copyExampleTo(t, "seed", filepath.Join(root, "seed"))
	dir := filepath.Join(root, "seed-pulumi-yaml")
	copyExampleTo(t, "seed-pulumi-yaml", dir)
	validate := func(cwd string, args ...string) (string, error) {
		cmd := exec.Command(binary, append([]string{"validate"}, args...)...)
		cmd.Dir = cwd
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	for _, tc := range []struct {
		name, cwd string
		args      []string
		want      string
		fail      bool
	}{
		{"program directory", root, []string{"seed-pulumi-yaml"}, "seed-pulumi-yaml/Pulumi.yaml: ok (1 functions, 1 APIs, 1 routes)", false},
		{"Pulumi.yaml file", root, []string{"seed-pulumi-yaml/Pulumi.yaml"}, "seed-pulumi-yaml/Pulumi.yaml: ok", false},
		{"program in the current directory", dir, nil, "Pulumi.yaml: ok", false},
		{"spec directory", root, []string{"seed"}, "seed/portico.yaml: ok", false},
		{"spec file", root, []string{"seed/portico.yaml"}, "seed/portico.yaml: ok", false},
		{"neither", root, []string{"."}, "holds neither Pulumi.yaml (a Pulumi program) nor portico.yaml (a spec)", true},
		{"both -f and an argument", root, []string{"-f", "seed/portico.yaml", "seed"}, "give either -f seed/portico.yaml or seed, not both", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := validate(tc.cwd, tc.args...)
			if (err != nil) != tc.fail || !strings.Contains(out, tc.want) {
				t.Errorf("validate %v: err %v, output:\n%s\nwant %q", tc.args, err, out, tc.want)
			}
		})
	}

	// portico up, no argument, in the program's directory.
	cmd := exec.Command(binary, "up", "--listen", "127.0.0.1:0", "--aws-listen", "127.0.0.1:0", "--admin-listen", "")
	cmd.Dir = dir
	stdout, stderr := &syncBuffer{}, &syncBuffer{}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGINT)
		_ = cmd.Wait()
	})
	waitFor(t, time.Minute, func() bool { return strings.Contains(stdout.String(), "ready") })
	if !strings.Contains(stdout.String(), "endpoint aiServicesHttpApi v1 ") {
		t.Errorf("portico up in a program's directory:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
	}
}

// TestPulumiTypeScriptProgramReloads edits a running Pulumi TypeScript
// program: a config change is rerun and served; a type error is reported
// at the program's own line and column and the previous configuration
// keeps serving.
func TestPulumiTypeScriptProgramReloads(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "good")
	copyProgram(t, filepath.Join("..", "..", "internal", "pulumirun", "testdata", "nodejs", "good"), dir)
	for _, f := range []string{"package.json", "package-lock.json"} {
		data, err := os.ReadFile(filepath.Join("..", "..", "examples", "seed-pulumi-ts", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	shareNodeModules(t, dir)
	_, stderr, endpoints := upProgram(t, dir)
	checkReload(t, dir, stderr, endpoints, "index.ts", "const broken: number = \"x\";\n", func(line int) string {
		return "index.ts:" + strconv.Itoa(line) + ":7: error TS2322: Type 'string' is not assignable to type 'number'"
	})
}
