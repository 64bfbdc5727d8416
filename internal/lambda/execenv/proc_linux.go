package execenv

import (
	"os"
	"syscall"
	"unsafe"
)

// plainProcAttr puts an unisolated runtime in a process group of its own,
// killed with the runner.
func plainProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// unreadBytes is how many bytes wait unread in pipe f; ok is false when
// that cannot be known.
func unreadBytes(f *os.File) (n int, ok bool) {
	rc, err := f.SyscallConn()
	if err != nil {
		return 0, false
	}
	var pending int32
	var errno syscall.Errno
	cerr := rc.Control(func(fd uintptr) {
		_, _, errno = syscall.Syscall(syscall.SYS_IOCTL, fd, syscall.TIOCINQ, uintptr(unsafe.Pointer(&pending)))
	})
	if cerr != nil || errno != 0 {
		return 0, false
	}
	return int(pending), true
}

// limitAddressSpace sets RLIMIT_AS of process pid.
func limitAddressSpace(pid int, bytes uint64) error {
	lim := syscall.Rlimit{Cur: bytes, Max: bytes}
	if _, _, e := syscall.RawSyscall6(syscall.SYS_PRLIMIT64, uintptr(pid), uintptr(syscall.RLIMIT_AS),
		uintptr(unsafe.Pointer(&lim)), 0, 0, 0); e != 0 {
		return e
	}
	return nil
}
