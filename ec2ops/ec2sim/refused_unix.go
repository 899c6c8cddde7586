//go:build unix

package ec2sim

import (
	"fmt"
	"syscall"
)

// RefusingEndpoint returns an http:// endpoint on a loopback port that
// refuses every connection, as AWS does when the network to it is down,
// and closes it with close. The port is bound but never listened on, so
// no other listener can take it while it is open: a port merely closed
// after a listen can be reused by a parallel test's server, which then
// answers in its own words instead of refusing.
func RefusingEndpoint() (endpoint string, close func() error, err error) {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		return "", nil, fmt.Errorf("refusing endpoint: socket: %w", err)
	}
	syscall.CloseOnExec(fd)
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		syscall.Close(fd)
		return "", nil, fmt.Errorf("refusing endpoint: bind: %w", err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		syscall.Close(fd)
		return "", nil, fmt.Errorf("refusing endpoint: getsockname: %w", err)
	}
	port := sa.(*syscall.SockaddrInet4).Port
	return fmt.Sprintf("http://127.0.0.1:%d", port), func() error { return syscall.Close(fd) }, nil
}
