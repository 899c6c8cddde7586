package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// healthcheckCommand asks a running Charlize's /healthz and exits 0 when
// it answers 200. It is the image's HEALTHCHECK: distroless images have no
// shell or curl, so the binary checks itself.
func healthcheckCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("healthcheck", flag.ContinueOnError)
	fs.SetOutput(stderr)
	target := fs.String("url", "", "URL to ask (default http://127.0.0.1:<port of CHARLIZE_ADDR or PORT>/healthz)")
	timeout := fs.Duration("timeout", 3*time.Second, "how long to wait for the answer")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: charlize healthcheck [--url URL] [--timeout 3s]\n\n"+
			"Exits 0 when Charlize's /healthz answers 200, 1 otherwise (for Docker's HEALTHCHECK).\n\nFlags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return flagErr(err)
	}
	if fs.NArg() > 0 {
		return usageErrorf("healthcheck: unexpected argument %q", fs.Arg(0))
	}
	if *target == "" {
		_, port, err := net.SplitHostPort(listenAddr(getenv))
		if err != nil {
			return fmt.Errorf("healthcheck: CHARLIZE_ADDR: %w", err)
		}
		*target = "http://" + net.JoinHostPort("127.0.0.1", port) + "/healthz"
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, *target, nil)
	if err != nil {
		return usageErrorf("healthcheck: --url: %v", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: %s answered %d", *target, resp.StatusCode)
	}
	fmt.Fprintln(stdout, "ok")
	return nil
}
