package httpproxy

import (
	"crypto/tls"
	"net"
	"syscall"
)

// alive reports whether an idle connection can still carry a request:
// nothing is waiting to be read on it (no EOF, reset or stray bytes). It
// asks the socket without blocking and without consuming anything. A body
// that is streamed cannot be sent again, so the proxy checks before
// starting one on a reused connection rather than retrying after.
func alive(nc net.Conn) bool {
	if tc, ok := nc.(*tls.Conn); ok {
		nc = tc.NetConn()
	}
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return true
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	ok = false
	var b [1]byte
	err = rc.Read(func(fd uintptr) bool {
		_, _, rerr := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		ok = rerr == syscall.EAGAIN
		return true // never wait for readability
	})
	return err == nil && ok
}
