package ec2sim

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"time"

	"go.yaml.in/yaml/v3"
)

// Fixture describes accounts and their fleets, usually read from YAML.
type Fixture struct {
	Accounts []FixtureAccount `yaml:"accounts"`
	// Organization, when set, makes the accounts listable through AWS
	// Organizations by its management account.
	Organization *FixtureOrganization `yaml:"organization"`
}

// FixtureAccount is one account: who may assume roles in it, and its
// instances by region.
type FixtureAccount struct {
	ID         string `yaml:"id"`          // 12 digits
	ExternalID string `yaml:"external_id"` // when set, AssumeRole must send it
	// DenySourceIdentity makes AssumeRole with a SourceIdentity fail with
	// AccessDenied, as when the role's trust policy lacks
	// sts:SetSourceIdentity.
	DenySourceIdentity bool                  `yaml:"deny_source_identity"`
	Regions            map[string][]Instance `yaml:"regions"`
}

var accountIDRE = regexp.MustCompile(`^\d{12}$`)

// LoadFixtureFile reads and validates a YAML fixture. Unknown fields are
// errors, so a typo does not silently drop an instance attribute.
func LoadFixtureFile(path string) (Fixture, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Fixture{}, fmt.Errorf("ec2sim.LoadFixtureFile: %w", err)
	}
	f, err := parseFixture(b)
	if err != nil {
		return Fixture{}, fmt.Errorf("ec2sim.LoadFixtureFile %s: %w", path, err)
	}
	return f, nil
}

// parseFixture decodes and validates a fleet, refusing unknown fields.
func parseFixture(b []byte) (Fixture, error) {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var f Fixture
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
		return Fixture{}, err
	}
	if err := f.Validate(); err != nil {
		return Fixture{}, err
	}
	return f, nil
}

// Validate reports the first problem in f: a malformed or duplicate account
// id, an empty region name, or an instance without an id, with a duplicate
// id or with an unknown state, or a malformed organization.
func (f Fixture) Validate() error {
	if f.Organization != nil {
		if err := f.Organization.validate(); err != nil {
			return err
		}
	}
	accounts := map[string]bool{}
	for _, a := range f.Accounts {
		if !accountIDRE.MatchString(a.ID) {
			return fmt.Errorf("account %q: id must be 12 digits", a.ID)
		}
		if accounts[a.ID] {
			return fmt.Errorf("account %s: listed twice", a.ID)
		}
		accounts[a.ID] = true
		for region, insts := range a.Regions {
			if region == "" {
				return fmt.Errorf("account %s: empty region name", a.ID)
			}
			ids := map[string]bool{}
			for i, inst := range insts {
				if inst.ID == "" {
					return fmt.Errorf("account %s region %s instance #%d: id is required", a.ID, region, i+1)
				}
				if ids[inst.ID] {
					return fmt.Errorf("account %s region %s: instance %s listed twice", a.ID, region, inst.ID)
				}
				ids[inst.ID] = true
				if inst.State != "" && !validState(inst.State) {
					return fmt.Errorf("account %s region %s instance %s: unknown state %q", a.ID, region, inst.ID, inst.State)
				}
				if inst.Platform != "" && inst.Platform != "windows" {
					return fmt.Errorf("account %s region %s instance %s: platform must be empty or \"windows\"", a.ID, region, inst.ID)
				}
			}
		}
	}
	return nil
}

// Load validates f and adds its accounts, replacing any account with the
// same id (its fleets, external id and source-identity policy), and its
// organization, replacing the previous one. Other accounts are untouched.
// Nothing changes when f is invalid.
func (s *Sim) Load(f Fixture) error {
	if err := f.Validate(); err != nil {
		return fmt.Errorf("ec2sim.Load: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if f.Organization != nil {
		s.loadOrganizationLocked(f.Organization, now)
		s.accountLocked(f.Organization.ManagementAccount) // its role can be assumed
	}
	for _, fa := range f.Accounts {
		a := &account{
			id:                 fa.ID,
			externalID:         fa.ExternalID,
			denySourceIdentity: fa.DenySourceIdentity,
			regions:            map[string]map[string]*record{},
		}
		s.accounts[fa.ID] = a
		for region, insts := range fa.Regions {
			a.regions[region] = map[string]*record{} // an empty region still counts for DescribeRegions
			for _, inst := range insts {
				s.putLocked(fa.ID, region, inst, now)
			}
		}
	}
	return nil
}

// generatedRegions are the regions Generate uses, in order.
var generatedRegions = []string{
	"us-east-1", "eu-west-1", "us-west-2", "ap-southeast-2", "eu-central-1",
	"us-east-2", "ap-northeast-1", "sa-east-1", "ca-central-1", "eu-north-1",
}

// Generate builds a deterministic fixture for benchmarks and load tests:
// accounts 100000000001…, the first regions of a fixed list (synthetic
// names beyond it), and perRegion instances in each with ids counting up
// from i-00000000000000001. Every tenth instance is stopped, every
// twenty-fifth is termination-protected, every fiftieth is Windows; each
// has Name, env and team tags.
func Generate(accounts, regions, perRegion int) Fixture {
	envs := []string{"prod", "staging", "dev"}
	teams := []string{"payments", "search", "platform", "data"}
	types := []string{"t3.micro", "t3.small", "m5.large", "c5.xlarge"}
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	var f Fixture
	n := 0
	for a := range accounts {
		fa := FixtureAccount{ID: fmt.Sprintf("%012d", 100000000001+a), Regions: map[string][]Instance{}}
		for r := range regions {
			region := fmt.Sprintf("sim-region-%d", r+1)
			if r < len(generatedRegions) {
				region = generatedRegions[r]
			}
			insts := make([]Instance, 0, perRegion)
			for i := range perRegion {
				n++
				inst := Instance{
					ID:         fmt.Sprintf("i-%017x", n),
					Type:       types[n%len(types)],
					State:      StateRunning,
					AZ:         region + string(rune('a'+i%3)),
					PrivateIP:  fmt.Sprintf("10.%d.%d.%d", r, (i/250)%250, i%250+1),
					LaunchTime: base.Add(time.Duration(n) * time.Minute),
					Tags: map[string]string{
						"Name": fmt.Sprintf("%s-%s-%d", teams[n%len(teams)], envs[n%len(envs)], i+1),
						"env":  envs[n%len(envs)],
						"team": teams[n%len(teams)],
					},
				}
				if n%10 == 0 {
					inst.State = StateStopped
				} else {
					inst.PublicIP = fmt.Sprintf("203.0.%d.%d", (n/250)%250, n%250+1)
				}
				if n%25 == 0 {
					inst.DisableAPITermination = true
				}
				if n%50 == 0 {
					inst.Platform = "windows"
				}
				insts = append(insts, inst)
			}
			fa.Regions[region] = insts
		}
		f.Accounts = append(f.Accounts, fa)
	}
	return f
}
