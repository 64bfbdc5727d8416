package main

import (
	"os"
	"testing"
)

func TestParseStat(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    procStat
		wantErr bool
	}{
		{"plain", "1234 (nginx) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 75 3 4 20 0 1 0 1000 0 0\n",
			procStat{PPID: 1, Ticks: 325, ChildTicks: 7}, false},
		{"name with spaces and parens", "77 (a (b) c) R 42 77 77 0 -1 0 0 0 0 0 10 20 0 0 20 0 1 0\n",
			procStat{PPID: 42, Ticks: 30}, false},
		{"no name", "1234 nginx S 1", procStat{}, true},
		{"too short", "1 (x) S 1 2 3", procStat{}, true},
		{"bad utime", "1 (x) S 1 1 1 0 -1 0 0 0 0 0 zz 1 0 0", procStat{}, true},
		{"bad ppid", "1 (x) S p 1 1 0 -1 0 0 0 0 0 1 1 0 0", procStat{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseStat(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("parseStat = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestParseStatusKB(t *testing.T) {
	status := "Name:\tnginx\nVmPeak:\t  20000 kB\nVmHWM:\t    6860 kB\nVmRSS:\t    6000 kB\nThreads:\t1\n"
	tests := []struct {
		name, in, key string
		want          int64
		wantErr       bool
	}{
		{"VmHWM", status, "VmHWM", 6860, false},
		{"VmRSS", status, "VmRSS", 6000, false},
		{"missing", status, "VmSwap", 0, true},
		{"not kB", "VmHWM:\t12 MB\n", "VmHWM", 0, true},
		{"not a number", "VmHWM:\tlots kB\n", "VmHWM", 0, true},
		{"prefix is not a match", "VmHWMx:\t1 kB\n", "VmHWM", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseStatusKB(tt.in, tt.key)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("parseStatusKB = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestOwnProcess(t *testing.T) {
	st, err := readStat(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if st.PPID != os.Getppid() {
		t.Errorf("ppid = %d, want %d", st.PPID, os.Getppid())
	}
	if kb, err := readStatusKB(os.Getpid(), "VmHWM"); err != nil || kb <= 0 {
		t.Errorf("VmHWM = %d, %v", kb, err)
	}
}

func TestTickDelta(t *testing.T) {
	if got := tickDelta(10, 25); got != 15 {
		t.Errorf("tickDelta(10, 25) = %d", got)
	}
	if got := tickDelta(25, 10); got != 0 {
		t.Errorf("tickDelta(25, 10) = %d, want 0", got)
	}
}

func FuzzParseStat(f *testing.F) {
	f.Add("1234 (nginx) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 75 3 4 20 0 1 0")
	f.Add("1 ((x)) S")
	f.Fuzz(func(t *testing.T, s string) {
		_, _ = parseStat(s)
	})
}
