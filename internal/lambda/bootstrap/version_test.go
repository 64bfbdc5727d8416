package bootstrap

import "testing"

func TestParseVersion(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    version
		wantErr bool
	}{
		{name: "python", in: "3.11.7\n", want: version{3, 11, 7, "3.11.7"}},
		{name: "node", in: "v20.20.2", want: version{20, 20, 2, "20.20.2"}},
		{name: "go", in: "go1.26.8", want: version{1, 26, 8, "1.26.8"}},
		{name: "release candidate", in: "3.14.0rc1", want: version{3, 14, 0, "3.14.0rc1"}},
		{name: "major only", in: "v22", want: version{22, 0, 0, "22"}},
		{name: "empty", in: "", wantErr: true},
		{name: "garbage", in: "Python", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseVersion(tt.in)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("parseVersion(%q) = %+v, %v; want %+v, error %v", tt.in, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func FuzzParseVersion(f *testing.F) {
	for _, s := range []string{"3.11.7", "v20.20.2", "go1.26.8", "", "1..2", "9999999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := parseVersion(s)
		if err == nil && (v.major < 0 || v.minor < 0 || v.patch < 0) {
			t.Errorf("parseVersion(%q) = %+v", s, v)
		}
	})
}
