package lambda

import (
	"strings"
	"testing"
	"time"
)

func TestFunctionCredentials(t *testing.T) {
	c, err := NewFunctionCredentials([]byte("process-secret"))
	if err != nil {
		t.Fatal(err)
	}
	id1, s1, t1 := c.For(Function{Name: "resize"})
	id2, s2, t2 := c.ForName("resize")
	if id1 != id2 || s1 != s2 || t1 != t2 {
		t.Error("credentials are not stable for one function")
	}
	id3, s3, _ := c.ForName("other")
	if id3 == id1 || s3 == s1 {
		t.Error("two functions share credentials")
	}
	if !strings.HasPrefix(id1, "ASIA") || len(id1) != 20 || len(s1) != 40 || t1 == "" {
		t.Errorf("shape: %q %q %q", id1, s1, t1)
	}
	other, _ := NewFunctionCredentials([]byte("another-secret"))
	if id, _, _ := other.ForName("resize"); id == id1 {
		t.Error("credentials do not depend on the secret")
	}
	random, err := NewFunctionCredentials(nil)
	if err != nil {
		t.Fatal(err)
	}
	if id, _, _ := random.ForName("resize"); id == id1 {
		t.Error("a random secret gave the fixed secret's credentials")
	}
}

func TestSandboxEnvCredentials(t *testing.T) {
	fc, _ := NewFunctionCredentials([]byte("s"))
	tests := []struct {
		name      string
		hook      func(Function) (string, string, string)
		wantID    string
		wantToken bool
	}{
		{"per function", fc.For, func() string { id, _, _ := fc.ForName("fn"); return id }(), true},
		{"long-term external keys", func(Function) (string, string, string) { return "AKIAEXTERNAL", "sec", "" }, "AKIAEXTERNAL", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := &Runner{cfg: Config{Region: "us-east-1", Credentials: tc.hook}, now: time.Now}
			env := r.sandboxEnv(&Function{Name: "fn", Runtime: "provided.al2023"}, &Command{Path: "/x/bootstrap", Env: []string{"AWS_SESSION_TOKEN=inherited"}}, "127.0.0.1:1", view{})
			got := map[string]string{}
			for _, kv := range env {
				k, v, _ := strings.Cut(kv, "=")
				got[k] = v
			}
			if got["AWS_ACCESS_KEY_ID"] != tc.wantID {
				t.Errorf("AWS_ACCESS_KEY_ID %q, want %q", got["AWS_ACCESS_KEY_ID"], tc.wantID)
			}
			if _, has := got["AWS_SESSION_TOKEN"]; has != tc.wantToken {
				t.Errorf("AWS_SESSION_TOKEN present %v, want %v", has, tc.wantToken)
			}
		})
	}
}
