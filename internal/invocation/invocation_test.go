package invocation

import "testing"

func TestSandboxStateString(t *testing.T) {
	tests := []struct {
		name string
		s    SandboxState
		want string
	}{
		{"none", SandboxNone, "none"},
		{"initializing", SandboxInitializing, "initializing"},
		{"busy", SandboxBusy, "busy"},
		{"idle", SandboxIdle, "idle"},
		{"unknown", SandboxState(9), "none"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.s.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
		})
	}
}
