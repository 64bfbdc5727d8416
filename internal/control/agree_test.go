package control

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/portico-dev/portico/internal/apikey"
	"github.com/portico-dev/portico/internal/gateway"
	"github.com/portico-dev/portico/internal/lambda"
	"github.com/portico-dev/portico/internal/s3"
	"github.com/portico-dev/portico/internal/spec"
	"github.com/portico-dev/portico/internal/websocket"
)

// TestValidateAgreesWithUp runs each spec of testdata/agree through both
// code paths: validate's (spec.Load, then Check) and up's (spec.Load, then
// Apply with the real runner, API key registry, keyring and gateway, and a
// fake for the buckets; nothing starts). Both must give the
// same verdict and the same error, and every refusal must come from the
// config pass with a file:line:col position: the first line of each file,
// "# want: ok" or "# want: FILE:LINE:COL: MESSAGE" (the start of the first
// error), says which.
func TestValidateAgreesWithUp(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "agree", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no corpus: %v", err)
	}
	cfg := Config{Region: "us-east-1", AccountID: "000000000000"}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			want := wantLine(t, file)
			ctx := context.Background()

			validateErr := func() error {
				sp, err := spec.Load(file)
				if err != nil {
					return err
				}
				return Check(ctx, sp, cfg)
			}()
			upErr := func() error {
				sp, err := spec.Load(file)
				if err != nil {
					return err
				}
				f := newFakes()
				keys, err := apikey.New(apikey.Config{})
				if err != nil {
					return err
				}
				defer keys.Close()
				// The real runner: its Deploy checks each function; it
				// starts a sandbox only when invoked, which nothing does.
				runner, err := lambda.New(lambda.Config{CacheDir: t.TempDir()}, lambda.Deps{})
				if err != nil {
					return err
				}
				defer runner.Close(ctx)
				c := New(cfg, Deps{Runner: runner, Gateway: gateway.New(gateway.Deps{}), APIKeys: keys,
					WebSockets: &WebSockets{Registry: &websocket.Registry{}}})
				c.effects.keyring, c.effects.buckets = &s3.Keyring{}, f.buckets
				return c.Apply(ctx, sp)
			}()

			if errText(validateErr) != errText(upErr) {
				t.Fatalf("validate and up disagree:\nvalidate: %v\nup:       %v", validateErr, upErr)
			}
			got := "ok"
			if validateErr != nil {
				got = strings.TrimPrefix(validateErr.Error(), filepath.Dir(file)+string(filepath.Separator))
			}
			if !strings.HasPrefix(got, want) || (want == "ok") != (got == "ok") {
				t.Errorf("verdict:\n got %s\nwant %s", got, want)
			}
		})
	}
}

func wantLine(t *testing.T, file string) string {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	if !sc.Scan() {
		t.Fatalf("%s: empty", file)
	}
	want, ok := strings.CutPrefix(sc.Text(), "# want: ")
	if !ok {
		t.Fatalf("%s: first line must be \"# want: ok\" or \"# want: FILE:LINE:COL: MESSAGE\"", file)
	}
	return want
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
