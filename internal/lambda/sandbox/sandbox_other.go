//go:build !linux

package sandbox

import (
	"errors"
	"net/netip"
	"os/exec"
)

// Available reports that this system has the kernel features sandboxes
// need: only Linux has them.
const Available = false

// errUnsupported is every operation's error off Linux.
var errUnsupported = errors.New("function sandboxes need Linux namespaces")

// ModeFor is meaningless off Linux.
func ModeFor() Mode { return "" }

// Probe always fails off Linux.
func Probe(rootDir string) (Mode, error) { return "", errUnsupported }

// Process is a sandbox being started (Linux only).
type Process struct{ Cmd *exec.Cmd }

// Prepare always fails off Linux.
func Prepare(spec *Spec, mode Mode) (*Process, error) { return nil, errUnsupported }

// Start always fails off Linux.
func (p *Process) Start() error { return errUnsupported }

// Release always fails off Linux.
func (p *Process) Release() error { return errUnsupported }

// SocketOwner always fails off Linux.
func SocketOwner(local, remote netip.AddrPort) (uid int, inode uint64, err error) {
	return 0, 0, errUnsupported
}

// HoldsSocket is false off Linux.
func HoldsSocket(pid int, inode uint64) bool { return false }
