package execenv

import "testing"

func TestViewTranslate(t *testing.T) {
	v := View{Task: "/var/task", Opt: "/opt"}
	tests := []struct {
		name, in, want string
	}{
		{name: "code directory", in: "/src/fn", want: "/var/task"},
		{name: "file in code", in: "/src/fn/bin/bootstrap", want: "/var/task/bin/bootstrap"},
		{name: "layers", in: "/layers/k/python", want: "/opt/python"},
		{name: "sibling with the code's prefix", in: "/src/fnx/app", want: "/src/fnx/app"},
		{name: "elsewhere", in: "/usr/bin/python3", want: "/usr/bin/python3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := v.Translate("/src/fn", "/layers/k", tt.in); got != tt.want {
				t.Errorf("Translate(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
	if got := v.Translate("/src/fn", "", "/src/fn/a"); got != "/var/task/a" {
		t.Errorf("without layers: %q", got)
	}
}

func TestStatusFields(t *testing.T) {
	status := []byte("Name:\tpython3\nState:\tS (sleeping)\nSigPnd:\t0000000000000000\nShdPnd:\t0000000000000100\n")
	tests := []struct {
		name  string
		field string
		want  uint64
	}{
		{name: "SIGKILL pending process-wide", field: "ShdPnd:", want: 1 << 8},
		{name: "nothing pending", field: "SigPnd:", want: 0},
		{name: "absent", field: "Nope:", want: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := parseHex(statusField(status, tt.field)); got != tt.want {
				t.Errorf("%s = %#x, want %#x", tt.field, got, tt.want)
			}
		})
	}
	if got := string(statusField(status, "State:")); got != "S (sleeping)" {
		t.Errorf("State = %q", got)
	}
	if got := parseHex([]byte("12xz")); got != 0 {
		t.Errorf("parseHex of garbage = %d, want 0", got)
	}
}
