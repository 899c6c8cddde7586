package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/charlize-app/charlize/ec2ops/ec2sim"
)

// simulateCommand serves the in-repo EC2/STS simulator, so Charlize can be
// tried (and demonstrated) without an AWS account: point AWS_ENDPOINT_URL
// at it. It is not a production component.
func simulateCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("simulate", flag.ContinueOnError)
	fs.SetOutput(stdout)
	addr := fs.String("addr", "127.0.0.1:4566", "listen address")
	fixture := fs.String("fixture", "", "fleet YAML in the shape of ec2ops/ec2sim/testdata/fleet.yaml (default: that demo fleet)")
	latency := fs.Duration("latency", 0, "added to every AWS call, to see Charlize under a slow AWS")
	generate := fs.String("generate", "", "serve a generated fleet instead: ACCOUNTSxREGIONSxINSTANCES, e.g. 500x2x2")
	organize := fs.Bool("organization", false, "with --generate: the accounts form an AWS Organization managed by the first one (accounts file: ec2ops/ec2sim/testdata/organization.yaml)")
	transition := fs.Duration("transition", 5*time.Second, "how long pending, stopping and shutting-down last")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), `Usage: charlize simulate [flags]

Serves an EC2 + STS simulator that the AWS SDK talks to as if it were AWS,
for trying Charlize without an AWS account:

  charlize simulate &
  AWS_ENDPOINT_URL=http://127.0.0.1:4566 AWS_ACCESS_KEY_ID=demo AWS_SECRET_ACCESS_KEY=demo \
  CHARLIZE_ACCOUNTS_FILE=ec2ops/ec2sim/testdata/accounts.yaml charlize serve

Flags:`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return flagErr(err)
	}
	fleet, err := ec2sim.Demo()
	switch {
	case *generate != "":
		fleet, err = generatedFleet(*generate, *organize)
	case *organize:
		err = errors.New("simulate: --organization needs --generate")
	case *fixture != "":
		fleet, err = ec2sim.LoadFixtureFile(*fixture)
	}
	if err != nil {
		return err
	}
	sim := ec2sim.New(ec2sim.Options{Latency: *latency, TransitionTime: *transition})
	if err := sim.Load(fleet); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", *addr, err)
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	srv := &http.Server{Handler: sim, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	log.Info("EC2/STS simulator listening", "addr", ln.Addr().String(), "accounts", len(fleet.Accounts))
	select {
	case err := <-served:
		return fmt.Errorf("simulate: %w", err)
	case <-ctx.Done():
	}
	// A development tool: close at once rather than wait out clients'
	// spare connections.
	if err := srv.Close(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// generatedFleet is ec2sim.Generate's fleet for a "500x2x2" shape,
// optionally as an organization whose accounts are named team-001…, the
// first one its management account (where the role charlize-org-reader of
// the organization accounts file is).
func generatedFleet(shape string, organize bool) (ec2sim.Fixture, error) {
	var accounts, regions, perRegion int
	if n, err := fmt.Sscanf(shape, "%dx%dx%d", &accounts, &regions, &perRegion); err != nil || n != 3 ||
		accounts < 1 || accounts > 10000 || regions < 1 || regions > 20 || perRegion < 0 || perRegion > 1000 {
		return ec2sim.Fixture{}, fmt.Errorf("simulate: --generate %q: want ACCOUNTSxREGIONSxINSTANCES, such as 500x2x2 (at most 10000x20x1000)", shape)
	}
	f := ec2sim.Generate(accounts, regions, perRegion)
	if organize {
		ec2sim.Organize(&f, f.Accounts[0].ID, func(i int, _ string) string { return fmt.Sprintf("Team %03d", i+1) }, nil)
	}
	return f, nil
}
