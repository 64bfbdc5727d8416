package xrayid

import (
	"regexp"
	"testing"
	"time"
)

var form = regexp.MustCompile(`^1-[0-9a-f]{8}-[0-9a-f]{24}$`)

func TestString(t *testing.T) {
	now := time.Unix(0x5f000001, 0)
	tests := []struct {
		name string
		id   ID
		want string
	}{
		{"derived", Derive(now, "req-1"), "1-5f000001-"},
		{"new", New(now), "1-5f000001-"},
		{"zero", ID{}, "1-00000000-000000000000000000000000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := tt.id.String()
			if !form.MatchString(s) || s[:len(tt.want)] != tt.want {
				t.Errorf("String() = %q, want prefix %q in X-Ray form", s, tt.want)
			}
		})
	}
}

func TestDeriveIsStable(t *testing.T) {
	now := time.Unix(1700000000, 0)
	a, b := Derive(now, "req-1"), Derive(now, "req-1")
	if a != b {
		t.Errorf("Derive differs for one key: %v %v", a, b)
	}
	if Derive(now, "req-2") == a {
		t.Error("Derive is the same for two keys")
	}
	// Pinned: trace IDs already handed to functions must not change form.
	if got, want := a.String(), "1-6553f100-"; got[:len(want)] != want {
		t.Errorf("Derive = %s", got)
	}
}

func TestNewIsUnique(t *testing.T) {
	now := time.Now()
	seen := map[ID]bool{}
	for range 1000 {
		id := New(now)
		if seen[id] {
			t.Fatalf("New repeated %v", id)
		}
		seen[id] = true
	}
}
