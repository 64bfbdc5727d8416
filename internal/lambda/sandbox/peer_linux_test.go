package sandbox

import (
	"encoding/binary"
	"net"
	"net/netip"
	"os"
	"testing"
)

func TestSocketOwner(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	local := c.LocalAddr().(*net.TCPAddr).AddrPort()
	remote := c.RemoteAddr().(*net.TCPAddr).AddrPort()
	tests := []struct {
		name          string
		local, remote netip.AddrPort
		wantErr       bool
	}{
		{"the dialing socket", local, remote, false},
		{"no such connection", netip.MustParseAddrPort("127.0.0.1:1"), remote, true},
		{"IPv6 is refused", netip.MustParseAddrPort("[::1]:1"), remote, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			uid, inode, err := SocketOwner(tt.local, tt.remote)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("got uid %d inode %d, want an error", uid, inode)
				}
				return
			}
			if err != nil || uid != os.Getuid() || inode == 0 {
				t.Fatalf("SocketOwner = %d, %d, %v; want uid %d and an inode", uid, inode, err, os.Getuid())
			}
			if !HoldsSocket(os.Getpid(), inode) {
				t.Error("HoldsSocket: this process holds the socket but was not found holding it")
			}
			if HoldsSocket(os.Getpid(), inode+1<<20) {
				t.Error("HoldsSocket: found a socket this process does not hold")
			}
		})
	}
}

func TestProcAddr(t *testing.T) {
	// /proc/net/tcp's format on little-endian machines.
	if binary.NativeEndian.Uint16([]byte{1, 0}) != 1 {
		t.Skip("big-endian")
	}
	if got := procAddr(netip.MustParseAddrPort("127.0.0.1:8080")); got != "0100007F:1F90" {
		t.Errorf("procAddr = %q, want 0100007F:1F90", got)
	}
}
