package sandbox

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"
)

// SocketOwner finds the IPv4 TCP socket of this machine (in this network
// namespace) bound to local and connected to remote, and returns the UID
// that owns it and its inode. The Runtime API calls it with a connection's
// remote and local addresses swapped, to learn who opened the connection.
func SocketOwner(local, remote netip.AddrPort) (uid int, inode uint64, err error) {
	local = netip.AddrPortFrom(local.Addr().Unmap(), local.Port())
	remote = netip.AddrPortFrom(remote.Addr().Unmap(), remote.Port())
	if !local.Addr().Is4() || !remote.Addr().Is4() {
		return 0, 0, fmt.Errorf("socket owner: %s -> %s: not IPv4", local, remote)
	}
	b, err := os.ReadFile("/proc/net/tcp")
	if err != nil {
		return 0, 0, fmt.Errorf("socket owner: %w", err)
	}
	want := []byte(procAddr(local) + " " + procAddr(remote) + " ")
	// "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode"
	for len(b) > 0 {
		line := b
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			b = nil
		}
		i := bytes.Index(line, want)
		if i < 0 {
			continue
		}
		f := strings.Fields(string(line))
		if len(f) < 10 {
			break
		}
		u, err1 := strconv.Atoi(f[7])
		n, err2 := strconv.ParseUint(f[9], 10, 64)
		if err1 != nil || err2 != nil {
			break
		}
		return u, n, nil
	}
	return 0, 0, fmt.Errorf("socket owner: %s -> %s: %w", local, remote, errNotFound)
}

var errNotFound = errors.New("socket not found")

// procAddr formats an address as /proc/net/tcp does: the IPv4 address as a
// native-endian 32-bit hex number (this is little-endian on every machine Go
// supports for Linux namespaces that matter here), a colon, the port in hex.
func procAddr(a netip.AddrPort) string {
	ip := a.Addr().As4()
	return fmt.Sprintf("%08X:%04X", binary.NativeEndian.Uint32(ip[:]), a.Port())
}

// HoldsSocket reports whether pid or one of its descendants has the socket
// inode open. It is how the Runtime API recognises its own sandbox's
// processes when they all share the runner's UID (user-namespace mode).
func HoldsSocket(pid int, inode uint64) bool {
	want := "socket:[" + strconv.FormatUint(inode, 10) + "]"
	seen := map[int]bool{}
	queue := []int{pid}
	for len(queue) > 0 && len(seen) < 4096 {
		p := queue[0]
		queue = queue[1:]
		if seen[p] {
			continue
		}
		seen[p] = true
		dir := "/proc/" + strconv.Itoa(p)
		if fds, err := os.ReadDir(dir + "/fd"); err == nil {
			for _, fd := range fds {
				if l, err := os.Readlink(dir + "/fd/" + fd.Name()); err == nil && l == want {
					return true
				}
			}
		}
		tasks, _ := os.ReadDir(dir + "/task")
		for _, t := range tasks {
			b, _ := os.ReadFile(dir + "/task/" + t.Name() + "/children")
			for _, c := range strings.Fields(string(b)) {
				if n, err := strconv.Atoi(c); err == nil {
					queue = append(queue, n)
				}
			}
		}
	}
	return false
}
