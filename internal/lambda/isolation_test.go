package lambda

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/testtool"
)

// pyAttackFn is a Python function running testdata/pyattack.
func pyAttackFn(t *testing.T, name string) Function {
	t.Helper()
	if _, err := exec.LookPath("python3"); err != nil {
		testtool.Missing(t, "python3", "not installed")
	}
	dir := t.TempDir()
	src, err := os.ReadFile("testdata/pyattack/app.py")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "app.py"), src, 0o644); err != nil {
		t.Fatal(err)
	}
	return Function{Name: name, Runtime: "python3.12", Handler: "app.handler", CodeDir: dir,
		Timeout: 10 * time.Second, MemoryMB: 256, ReservedConcurrency: -1}
}

// requireIsolation skips (fails on CI) when the machine cannot sandbox.
func requireIsolation(t *testing.T, r *Runner) {
	t.Helper()
	if on, detail := r.IsolationStatus(); !on {
		testtool.Missing(t, "function isolation", detail)
	}
}

// probe is one attempt of the attacker, as pyattack reports it.
type probe struct {
	OK    bool            `json:"ok"`
	Value json.RawMessage `json:"value"`
	Error string          `json:"error"`
}

type attackReport struct {
	Pids          []int             `json:"pids"`
	Env           []string          `json:"env"`
	VictimEnviron probe             `json:"victim_environ"`
	VictimCode    probe             `json:"victim_code"`
	StateFile     probe             `json:"state_file"`
	VictimTmp     probe             `json:"victim_tmp"`
	KillVictim    probe             `json:"kill_victim"`
	KillPortico   probe             `json:"kill_portico"`
	Hijack        probe             `json:"hijack"`
	WriteTask     probe             `json:"write_task"`
	WriteTmp      probe             `json:"write_tmp"`
	TmpSize       probe             `json:"tmp_size"`
	Status        map[string]string `json:"status"`
	Outbound      probe             `json:"outbound"`
	Admin         probe             `json:"admin"`
	Cwd           string            `json:"cwd"`
	Home          string            `json:"home"`
}

// attack deploys a victim and an attacker (both Python), warms the victim
// (it leaves a secret in its /tmp) and lets the attacker try every escape.
func attack(t *testing.T, isolation string) (*Runner, attackReport, Function) {
	victim, attacker := pyAttackFn(t, "victim"), pyAttackFn(t, "attacker")
	victim.Environment = map[string]string{"VICTIM_SECRET": "s3cr3t"}
	r := newRunner(t, Config{Isolation: isolation}, victim, attacker)
	if isolation != IsolationNone {
		requireIsolation(t, r)
	}
	state := t.TempDir() // stands in for Portico's state directory
	if err := os.Chmod(state, 0o755); err != nil {
		t.Fatal(err)
	}
	stateFile := filepath.Join(state, "admin-key")
	if err := os.WriteFile(stateFile, []byte("state secret"), 0o644); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "endpoint reached") }))
	t.Cleanup(srv.Close)
	// Portico's admin listener stands behind RefuseSandboxes.
	admin := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "console reached") }))
	admin.Listener = r.RefuseSandboxes(admin.Listener)
	admin.Start()
	t.Cleanup(admin.Close)
	if resp, err := http.Get(admin.URL); err != nil {
		t.Fatalf("the admin listener refuses Portico's own side: %v", err)
	} else {
		resp.Body.Close()
	}

	res := invoke(t, r, "victim", `{"write_secret_tmp":true}`)
	if res.FunctionError != "" {
		t.Fatalf("victim: %s", res.Payload)
	}
	p := r.lookup("victim")
	vsb := p.Idle()[0]
	_, port, _ := net.SplitHostPort(vsb.RuntimeAPI())
	portNum, _ := strconv.Atoi(port)
	event, _ := json.Marshal(map[string]any{
		"victim_pid":  vsb.PID(),
		"victim_code": filepath.Join(victim.CodeDir, "app.py"),
		"state_file":  stateFile,
		"portico_pid": os.Getpid(),
		"victim_port": portNum,
		"server_url":  srv.URL,
		"admin_url":   admin.URL,
		"dry":         isolation == IsolationNone,
	})
	res = invoke(t, r, "attacker", string(event))
	if res.FunctionError != "" {
		t.Fatalf("attacker: %s\n%s", res.Payload, res.LogTail)
	}
	var rep attackReport
	if err := json.Unmarshal(res.Payload, &rep); err != nil {
		t.Fatalf("%s: %v", res.Payload, err)
	}
	// The victim is unharmed and still serves its own invocations.
	if res := invoke(t, r, "victim", `{"write_secret_tmp":true}`); res.FunctionError != "" || res.Cold {
		t.Errorf("victim after the attack: cold=%v %s", res.Cold, res.Payload)
	}
	return r, rep, victim
}

// TestSandboxEscapes attacks a neighbour from a real function and checks
// that every escape fails, and that what a function needs still works.
func TestSandboxEscapes(t *testing.T) {
	_, rep, _ := attack(t, IsolationAuto)
	t.Logf("attack report: %+v", rep)
	for _, c := range []struct {
		name string
		p    probe
	}{
		{"read the victim's /proc/PID/environ", rep.VictimEnviron},
		{"read the victim's code", rep.VictimCode},
		{"read Portico's state directory", rep.StateFile},
		{"read the victim's /tmp", rep.VictimTmp},
		{"SIGKILL the victim", rep.KillVictim},
		{"SIGKILL Portico", rep.KillPortico},
		{"take the victim's invocations from its Runtime API", rep.Hijack},
		{"write /var/task", rep.WriteTask},
		{"reach Portico's admin listener", rep.Admin},
	} {
		if c.p.OK {
			t.Errorf("%s: succeeded (%s)", c.name, c.p.Value)
		}
	}
	if len(rep.Pids) > 3 || len(rep.Pids) == 0 || rep.Pids[0] != 1 {
		t.Errorf("sees processes %v, want only its own (PID 1 and its children)", rep.Pids)
	}
	for _, k := range rep.Env {
		if k == "VICTIM_SECRET" || strings.HasPrefix(k, "GO") || k == "HOME" || k == "USER" {
			t.Errorf("environment holds %s", k)
		}
	}
	if !rep.WriteTmp.OK {
		t.Errorf("write /tmp: %s", rep.WriteTmp.Error)
	}
	if !rep.TmpSize.OK || string(rep.TmpSize.Value) != strconv.Itoa(512<<20) {
		t.Errorf("/tmp size = %s %s, want %d", rep.TmpSize.Value, rep.TmpSize.Error, 512<<20)
	}
	if !rep.Outbound.OK || !strings.Contains(string(rep.Outbound.Value), "endpoint reached") {
		t.Errorf("outbound to a loopback server: %s %s", rep.Outbound.Value, rep.Outbound.Error)
	}
	if rep.Cwd != "/var/task" {
		t.Errorf("cwd = %q, want /var/task", rep.Cwd)
	}
	st := rep.Status
	for _, k := range []string{"CapEff", "CapPrm", "CapBnd", "CapAmb"} {
		if strings.Trim(st[k], "0") != "" {
			t.Errorf("%s = %s, want no capabilities", k, st[k])
		}
	}
	if st["NoNewPrivs"] != "1" {
		t.Errorf("NoNewPrivs = %q", st["NoNewPrivs"])
	}
	if os.Geteuid() == 0 {
		uid := strings.Fields(st["Uid"])
		if len(uid) == 0 || uid[0] == "0" {
			t.Errorf("runs as uid %q, want a sandbox UID", st["Uid"])
		}
		// The user has a name and a home, as Lambda's sbx_user1051.
		if rep.Home != "/home/sbx_user1051" {
			t.Errorf("home = %q, want /home/sbx_user1051", rep.Home)
		}
	}
}

// TestSandboxEscapesWithoutIsolation runs the same attack with
// --isolation=none: the probes must detect the escapes, or the test above
// would prove nothing.
func TestSandboxEscapesWithoutIsolation(t *testing.T) {
	_, rep, _ := attack(t, IsolationNone)
	if !rep.VictimEnviron.OK || !strings.Contains(string(rep.VictimEnviron.Value), "VICTIM_SECRET") &&
		!strings.Contains(string(rep.VictimEnviron.Value), "AWS_") {
		t.Errorf("without isolation, reading the victim's environ: %s %s", rep.VictimEnviron.Value, rep.VictimEnviron.Error)
	}
	if !rep.VictimCode.OK || !rep.StateFile.OK {
		t.Errorf("without isolation, reading code and state: %+v %+v", rep.VictimCode, rep.StateFile)
	}
	if !rep.KillPortico.OK || !rep.KillVictim.OK {
		t.Errorf("without isolation, signalling: %+v %+v", rep.KillPortico, rep.KillVictim)
	}
	if !rep.Admin.OK {
		t.Errorf("without isolation, the admin listener: %s", rep.Admin.Error)
	}
	if !rep.Outbound.OK {
		t.Errorf("outbound: %s", rep.Outbound.Error)
	}
}

// TestRuntimeAPIHijackFromHost: a process outside every sandbox (this test,
// as root or the runner's user) cannot take a sandbox's invocations either.
func TestRuntimeAPIHijackFromHost(t *testing.T) {
	r := newRunner(t, Config{}, fn(t, "echo", "goecho"))
	requireIsolation(t, r)
	invoke(t, r, "echo", `{}`)
	p := r.lookup("echo")
	addr := p.Idle()[0].RuntimeAPI()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprint(c, "GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n")
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err == nil {
		t.Fatalf("the Runtime API answered a foreign process: %q", line)
	}
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatal("the Runtime API kept a foreign connection open")
	}
	// The function is unaffected.
	if res := invoke(t, r, "echo", `{"k":1}`); res.FunctionError != "" || string(res.Payload) != `{"k":1}` {
		t.Errorf("after the attempt: %s", res.Payload)
	}
}

// TestSandboxForkBomb: the process cap holds against a fork bomb, which
// ends with an error inside the function instead of exhausting the machine.
func TestSandboxForkBomb(t *testing.T) {
	const limit = 40
	f := pyAttackFn(t, "bomb")
	r, err := New(Config{SandboxPids: limit}, Deps{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(context.Background()) })
	requireIsolation(t, r)
	if err := r.Deploy(context.Background(), []Function{f}); err != nil {
		t.Fatal(err)
	}
	res := invoke(t, r, "bomb", `{"fork_bomb":true}`)
	var out struct {
		Forked int    `json:"forked"`
		Error  string `json:"error"`
	}
	if err := json.Unmarshal(res.Payload, &out); err != nil {
		t.Fatalf("%s: %v", res.Payload, err)
	}
	if out.Forked >= limit || out.Forked == 0 || out.Error == "no limit" {
		t.Errorf("forked %d processes (%s), want fewer than %d", out.Forked, out.Error, limit)
	}
}

// TestKillRaceWarmSandbox: a warm sandbox killed just before an invocation
// is never handed it; the invocation goes to a fresh sandbox.
func TestKillRaceWarmSandbox(t *testing.T) {
	for _, iso := range []string{IsolationAuto, IsolationNone} {
		t.Run("isolation="+iso, func(t *testing.T) {
			r := newRunner(t, Config{Isolation: iso}, fn(t, "echo", "goecho"))
			for i := 0; i < 20; i++ {
				invoke(t, r, "echo", `{}`)
				pids := r.pids()
				if len(pids) != 1 {
					t.Fatalf("pids %v", pids)
				}
				if err := syscall.Kill(pids[0], syscall.SIGKILL); err != nil {
					t.Fatal(err)
				}
				res := invoke(t, r, "echo", `{"n":1}`)
				if res.FunctionError != "" || !res.Cold {
					t.Fatalf("round %d: invocation after the kill: cold=%v %s %s", i, res.Cold, res.FunctionError, res.Payload)
				}
			}
		})
	}
}

// TestSandboxAsUnprivilegedUser re-runs the isolation tests that need no
// interpreter as an unprivileged user, where sandboxes are user namespaces
// sharing the runner's UID: the Runtime API must still refuse a process of
// that same UID outside the sandbox.
func TestSandboxAsUnprivilegedUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("not root: the other tests already run in user-namespace mode")
	}
	const nobody = 65534
	dir, err := os.MkdirTemp("", "lambda-nobody-") // t.TempDir's parent is private
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	for _, d := range []string{dir, binDir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "lambda.test")
	if err := linkOrCopy(self, bin); err != nil {
		t.Fatal(err)
	}
	cache := filepath.Join(dir, "cache")
	if err := os.Mkdir(cache, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(cache, nobody, nobody); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-test.run", "^(TestRuntimeAPIHijackFromHost|TestKillRaceWarmSandbox|TestEnvironment|TestUserNamespaceMode)$", "-test.count=1", "-test.v")
	cmd.Dir = dir
	cmd.Env = []string{testBinDirEnv + "=" + binDir, "XDG_CACHE_HOME=" + cache, "TMPDIR=" + os.TempDir(),
		"PATH=" + os.Getenv("PATH"), "CI=" + os.Getenv("CI")}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
	out, err := cmd.CombinedOutput()
	if err != nil || strings.Contains(string(out), "--- SKIP") || !strings.Contains(string(out), "--- PASS: TestUserNamespaceMode") {
		t.Fatalf("as uid %d: %v\n%s", nobody, err, out)
	}
}

// TestUserNamespaceMode checks, when not root, that sandboxes are user
// namespaces (run by TestSandboxAsUnprivilegedUser).
func TestUserNamespaceMode(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root: sandboxes have UIDs of their own")
	}
	r := newRunner(t, Config{}, fn(t, "echo", "goecho"))
	requireIsolation(t, r)
	if _, detail := r.IsolationStatus(); !strings.Contains(detail, "user-namespace") {
		t.Fatalf("isolation %q, want user-namespace mode", detail)
	}
	if res := invoke(t, r, "echo", `{"k":1}`); res.FunctionError != "" {
		t.Fatalf("%s\n%s", res.Payload, res.LogTail)
	}
}

// TestSandboxCacheDirUnderTmp: the runtime's files (bootstrap script,
// bytecode cache) may live under the host's /tmp, which the sandbox's own
// /tmp must not hide.
func TestSandboxCacheDirUnderTmp(t *testing.T) {
	f := pyAttackFn(t, "py")
	r := newRunner(t, Config{CacheDir: t.TempDir()}, f)
	requireIsolation(t, r)
	if !strings.HasPrefix(r.cfg.CacheDir, "/tmp/") && !strings.HasPrefix(r.cfg.CacheDir, os.TempDir()) {
		t.Skipf("cache directory %s", r.cfg.CacheDir)
	}
	if res := invoke(t, r, "py", `{"write_secret_tmp":true}`); res.FunctionError != "" {
		t.Fatalf("%s\n%s", res.Payload, res.LogTail)
	}
}
