package ec2sim

import (
	_ "embed"
	"fmt"
)

// demoFleet is the fleet `charlize simulate` serves by default; the same
// file is the tests' demo fixture.
//
//go:embed testdata/fleet.yaml
var demoFleet []byte

// Demo returns the demo fleet: two accounts, two regions, a dozen
// instances, one of them termination-protected.
func Demo() (Fixture, error) {
	f, err := parseFixture(demoFleet)
	if err != nil {
		return Fixture{}, fmt.Errorf("ec2sim.Demo: %w", err)
	}
	return f, nil
}

// demoAccounts is the accounts file (CHARLIZE_ACCOUNTS_FILE) that reaches
// the demo fleet's two accounts through their roles.
//
//go:embed testdata/accounts.yaml
var demoAccounts []byte

// DemoAccounts returns the accounts file of the demo fleet, for
// `charlize demo`, which writes it where Charlize reads it.
func DemoAccounts() []byte { return append([]byte(nil), demoAccounts...) }
