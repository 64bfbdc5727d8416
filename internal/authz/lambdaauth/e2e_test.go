package lambdaauth

import (
	"context"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/edge"
	"github.com/portico-dev/portico/internal/lambda"
	"github.com/portico-dev/portico/internal/testtool"
)

// TestRealRunner deploys the python authorizer in testdata/authfn on the
// real function runner and authorizes requests through it.
func TestRealRunner(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		testtool.Missing(t, "python3", "not installed")
	}
	if testing.Short() {
		t.Skip("starts a python runtime")
	}
	code, err := filepath.Abs(filepath.Join("testdata", "authfn"))
	if err != nil {
		t.Fatal(err)
	}
	runner, err := lambda.New(lambda.Config{Region: "eu-west-1", AccountID: "111122223333", MaxConcurrency: 2, CacheDir: t.TempDir()}, lambda.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := runner.Close(ctx); err != nil {
			t.Errorf("runner Close: %v", err)
		}
	})
	fn := lambda.Function{Name: "authFn", Runtime: "python3.12", Handler: "app.handler", CodeDir: code,
		Timeout: 5 * time.Second, MemoryMB: 128, ReservedConcurrency: -1}
	if err := runner.Deploy(context.Background(), []lambda.Function{fn}); err != nil {
		t.Fatal(err)
	}

	clk := &fakeClock{t: testTime}
	cfg := cachedConfig(clk)
	a := mustNew(t, cfg, runner)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	got, err := a.Authorize(ctx, tokenRequest("letmein"), nil)
	if err != nil {
		t.Fatalf("allowed token: %v", err)
	}
	if got.Lambda["user"] != "alice" || got.Lambda["routeArn"] != "arn:aws:execute-api:eu-west-1:111122223333:a1b2c3d4e5/v1/GET/orders/42" {
		t.Fatalf("context = %v", got.Lambda)
	}
	if ids, _ := got.Lambda["identitySource"].([]any); len(ids) != 1 || ids[0] != "letmein" {
		t.Fatalf("identitySource seen by the function = %v", got.Lambda["identitySource"])
	}
	tests := []struct {
		name string
		tok  string
		want edge.Kind
	}{
		{"denied token", "nope", edge.Forbidden},
		{"missing token", "", edge.Unauthorized},
		{"crashing authorizer", "crash", edge.InternalError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := a.Authorize(ctx, tokenRequest(tt.tok), nil)
			if got != nil || kindOf(err) != tt.want {
				t.Fatalf("Authorize = %v, %v; want kind %d", got, err, tt.want)
			}
		})
	}
}
