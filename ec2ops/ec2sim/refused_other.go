//go:build !unix

package ec2sim

import "net"

// RefusingEndpoint returns an http:// endpoint on a loopback port nothing
// listens on. Without unix sockets to hold the port unlistened, it is
// only closed, so another listener may take it later.
func RefusingEndpoint() (endpoint string, close func() error, err error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr, func() error { return nil }, nil
}
