//go:build !linux

package execenv

import (
	"errors"
	"os"
	"syscall"
)

// plainProcAttr puts a runtime in a process group of its own (there is no
// parent-death signal off Linux).
func plainProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }

// unreadBytes cannot be known off Linux.
func unreadBytes(f *os.File) (n int, ok bool) { return 0, false }

// limitAddressSpace needs prlimit, which only Linux has.
func limitAddressSpace(pid int, bytes uint64) error { return errors.New("prlimit: Linux only") }
