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
	"syscall"
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
	uid, inode, err = diagOwner(local, remote)
	switch {
	case err == nil:
		return uid, inode, nil
	case errors.Is(err, errNotFound):
		return 0, 0, fmt.Errorf("socket owner: %s -> %s: %w", local, remote, err)
	}
	// No sock_diag (tcp_diag not available): /proc/net/tcp, which walks the
	// kernel's whole connection table (milliseconds on large machines).
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

// Netlink sock_diag constants (linux/sock_diag.h, linux/inet_diag.h).
const (
	netlinkSockDiag   = 4  // NETLINK_SOCK_DIAG (formerly NETLINK_INET_DIAG)
	sockDiagByFamily  = 20 // SOCK_DIAG_BY_FAMILY
	nlmsgHdrLen       = 16
	inetDiagReqV2Len  = 56
	inetDiagMsgLen    = 72
	inetDiagNoCookie  = ^uint32(0)
	nlmsgError        = 2
	allTCPStates      = ^uint32(0)
	inetDiagMsgUIDOff = 4 + 48 + 12
)

// diagOwner asks the kernel for exactly one socket (local -> remote) with a
// sock_diag request: a hash lookup, independent of how many sockets the
// machine has.
func diagOwner(local, remote netip.AddrPort) (uid int, inode uint64, err error) {
	fd, err := syscall.Socket(syscall.AF_NETLINK, syscall.SOCK_DGRAM|syscall.SOCK_CLOEXEC, netlinkSockDiag)
	if err != nil {
		return 0, 0, err
	}
	defer syscall.Close(fd)
	var req [nlmsgHdrLen + inetDiagReqV2Len]byte
	ne := binary.NativeEndian
	ne.PutUint32(req[0:], uint32(len(req)))
	ne.PutUint16(req[4:], sockDiagByFamily)
	ne.PutUint16(req[6:], syscall.NLM_F_REQUEST)
	ne.PutUint32(req[8:], 1) // seq
	r := req[nlmsgHdrLen:]
	r[0] = syscall.AF_INET
	r[1] = syscall.IPPROTO_TCP
	ne.PutUint32(r[4:], allTCPStates)
	id := r[8:]
	binary.BigEndian.PutUint16(id[0:], local.Port())
	binary.BigEndian.PutUint16(id[2:], remote.Port())
	la, ra := local.Addr().As4(), remote.Addr().As4()
	copy(id[4:8], la[:])
	copy(id[20:24], ra[:])
	ne.PutUint32(id[40:], inetDiagNoCookie)
	ne.PutUint32(id[44:], inetDiagNoCookie)
	if err := syscall.Sendto(fd, req[:], 0, &syscall.SockaddrNetlink{Family: syscall.AF_NETLINK}); err != nil {
		return 0, 0, err
	}
	var buf [1024]byte
	n, _, err := syscall.Recvfrom(fd, buf[:], 0)
	if err != nil {
		return 0, 0, err
	}
	if n < nlmsgHdrLen {
		return 0, 0, errNotFound
	}
	switch ne.Uint16(buf[4:]) {
	case nlmsgError:
		if n >= nlmsgHdrLen+4 {
			if e := syscall.Errno(-int32(ne.Uint32(buf[nlmsgHdrLen:]))); e == syscall.ENOENT {
				return 0, 0, errNotFound
			} else if e != 0 {
				return 0, 0, e
			}
		}
		return 0, 0, errNotFound
	case sockDiagByFamily:
		if n < nlmsgHdrLen+inetDiagMsgLen {
			return 0, 0, errNotFound
		}
		m := buf[nlmsgHdrLen:]
		return int(ne.Uint32(m[inetDiagMsgUIDOff:])), uint64(ne.Uint32(m[inetDiagMsgUIDOff+4:])), nil
	}
	return 0, 0, errNotFound
}

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
