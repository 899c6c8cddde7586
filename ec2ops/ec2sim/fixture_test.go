package ec2sim_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/google/go-cmp/cmp"

	"github.com/charlize-app/charlize/ec2ops/ec2sim"
)

func TestLoadFixtureFileDemoFleet(t *testing.T) {
	f, err := ec2sim.LoadFixtureFile(filepath.Join("testdata", "fleet.yaml"))
	if err != nil {
		t.Fatalf("LoadFixtureFile: %v", err)
	}
	var (
		accounts  []string
		total     int
		protected []string
	)
	regions := map[string]bool{}
	for _, a := range f.Accounts {
		accounts = append(accounts, a.ID)
		for r, insts := range a.Regions {
			regions[r] = true
			total += len(insts)
			for _, in := range insts {
				if in.Tags["Name"] == "" || in.Tags["env"] == "" {
					t.Errorf("instance %s lacks Name or env tag: %v", in.ID, in.Tags)
				}
				if in.DisableAPITermination {
					protected = append(protected, in.Tags["Name"])
				}
			}
		}
	}
	if len(accounts) != 2 || len(regions) != 2 || total != 12 {
		t.Errorf("fleet.yaml has %d accounts, %d regions, %d instances; want 2, 2, 12", len(accounts), len(regions), total)
	}
	if diff := cmp.Diff([]string{"prod-db-1"}, protected); diff != "" {
		t.Errorf("termination-protected instances (-want +got):\n%s", diff)
	}

	// The demo fleet answers through the SDK with ambient credentials
	// when its first account is the default one.
	e := mustStart(t, ec2sim.Options{DefaultAccount: "123456789012"}, f)
	out, err := ec2.NewFromConfig(e.baseConfig("us-east-1")).DescribeInstances(context.Background(), &ec2.DescribeInstancesInput{
		Filters: []types.Filter{{Name: aws.String("tag:Name"), Values: []string{"prod-web-*"}}},
	})
	if err != nil {
		t.Fatalf("DescribeInstances: %v", err)
	}
	if diff := cmp.Diff([]string{"i-0a1b2c3d4e5f60001", "i-0a1b2c3d4e5f60002"}, ids(out)); diff != "" {
		t.Errorf("prod-web-* in us-east-1 (-want +got):\n%s", diff)
	}
	win, ok := e.sim.Get("123456789012", "us-east-1", "i-0a1b2c3d4e5f60005")
	if !ok || win.Platform != "windows" || !win.LaunchTime.Equal(time.Date(2025, 2, 1, 10, 30, 0, 0, time.UTC)) {
		t.Errorf("Get(prod-reporting-win) = %+v, %v", win, ok)
	}
}

func TestLoadFixtureFileErrors(t *testing.T) {
	tests := []struct {
		name, yaml, want string
	}{
		{"unknown field", "accounts:\n  - id: \"111111111111\"\n    regions:\n      us-east-1:\n        - id: i-1\n          colour: red\n", "colour"},
		{"short account id", "accounts:\n  - id: \"123\"\n", "12 digits"},
		{"duplicate account", "accounts:\n  - id: \"111111111111\"\n  - id: \"111111111111\"\n", "twice"},
		{"missing instance id", "accounts:\n  - id: \"111111111111\"\n    regions:\n      us-east-1:\n        - type: t3.micro\n", "id is required"},
		{"duplicate instance id", "accounts:\n  - id: \"111111111111\"\n    regions:\n      us-east-1:\n        - id: i-1\n        - id: i-1\n", "twice"},
		{"bad state", "accounts:\n  - id: \"111111111111\"\n    regions:\n      us-east-1:\n        - id: i-1\n          state: sleeping\n", "sleeping"},
		{"bad platform", "accounts:\n  - id: \"111111111111\"\n    regions:\n      us-east-1:\n        - id: i-1\n          platform: linux\n", "platform"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "f.yaml")
			if err := os.WriteFile(path, []byte(tt.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := ec2sim.LoadFixtureFile(path)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("LoadFixtureFile() = %v, want an error mentioning %q", err, tt.want)
			}
		})
	}
	if _, err := ec2sim.LoadFixtureFile(filepath.Join(t.TempDir(), "missing.yaml")); err == nil {
		t.Errorf("LoadFixtureFile(missing) = nil, want error")
	}
}

func TestLoadIsAtomicAndReplacesAccounts(t *testing.T) {
	sim := ec2sim.New(ec2sim.Options{})
	if err := sim.Load(testFixture()); err != nil {
		t.Fatalf("Load: %v", err)
	}
	bad := ec2sim.Fixture{Accounts: []ec2sim.FixtureAccount{
		{ID: acctA, Regions: map[string][]ec2sim.Instance{"us-east-1": {{ID: "i-new"}}}},
		{ID: "bad"},
	}}
	if err := sim.Load(bad); err == nil {
		t.Fatalf("Load(invalid) = nil, want error")
	}
	if _, ok := sim.Get(acctA, "us-east-1", "i-0000000000000000a"); !ok {
		t.Errorf("invalid Load changed account A")
	}
	if err := sim.Load(ec2sim.Fixture{Accounts: bad.Accounts[:1]}); err != nil {
		t.Fatalf("Load: %v", err)
	}
	if got := sim.List(acctA, "us-east-1"); len(got) != 1 || got[0].ID != "i-new" {
		t.Errorf("List(A) after replacing Load = %+v, want only i-new", got)
	}
	if _, ok := sim.Get(acctB, "us-east-1", "i-000000000000000b1"); !ok {
		t.Errorf("Load of account A removed account B")
	}
}

func TestPutDefaults(t *testing.T) {
	clock := newFakeClock()
	sim := ec2sim.New(ec2sim.Options{Now: clock.Now})
	sim.Put(acctA, "eu-west-2", ec2sim.Instance{ID: "i-1", Tags: map[string]string{"Name": "x"}})
	got, ok := sim.Get(acctA, "eu-west-2", "i-1")
	want := ec2sim.Instance{ID: "i-1", Type: "t3.micro", State: "running", AZ: "eu-west-2a", LaunchTime: clock.Now(), Tags: map[string]string{"Name": "x"}}
	if !ok {
		t.Fatalf("Get(i-1) not found")
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Get after Put (-want +got):\n%s", diff)
	}
	got.Tags["Name"] = "mutated"
	if again, _ := sim.Get(acctA, "eu-west-2", "i-1"); again.Tags["Name"] != "x" {
		t.Errorf("Get returned an alias of the stored tags")
	}
	sim.Put(acctA, "eu-west-2", ec2sim.Instance{})
	if n := len(sim.List(acctA, "eu-west-2")); n != 2 {
		t.Errorf("List after Put without id = %d instances, want 2", n)
	}
	if _, ok := sim.Get(acctB, "eu-west-2", "i-1"); ok {
		t.Errorf("Get(other account) found the instance")
	}
}

func TestGenerate(t *testing.T) {
	f := ec2sim.Generate(3, 2, 10)
	if diff := cmp.Diff(f, ec2sim.Generate(3, 2, 10)); diff != "" {
		t.Errorf("Generate is not deterministic (-first +second):\n%s", diff)
	}
	if err := f.Validate(); err != nil {
		t.Errorf("Generate(3, 2, 10).Validate() = %v", err)
	}
	if got := f.Accounts[0].Regions["us-east-1"][0].ID; got != "i-00000000000000001" {
		t.Errorf("first generated id = %s, want i-00000000000000001", got)
	}
	total := 0
	for _, a := range f.Accounts {
		for _, insts := range a.Regions {
			total += len(insts)
		}
	}
	if len(f.Accounts) != 3 || total != 60 {
		t.Errorf("Generate(3, 2, 10) = %d accounts, %d instances; want 3, 60", len(f.Accounts), total)
	}
}

func BenchmarkDescribeInstancesPaginated(b *testing.B) {
	f := ec2sim.Generate(1, 1, 2000)
	sim := ec2sim.New(ec2sim.Options{DefaultAccount: f.Accounts[0].ID})
	if err := sim.Load(f); err != nil {
		b.Fatal(err)
	}
	e := &env{sim: sim, url: startServer(b, sim)}
	client := ec2.NewFromConfig(e.baseConfig("us-east-1"))
	for b.Loop() {
		p := ec2.NewDescribeInstancesPaginator(client, &ec2.DescribeInstancesInput{MaxResults: aws.Int32(1000)})
		for p.HasMorePages() {
			if _, err := p.NextPage(context.Background()); err != nil {
				b.Fatal(err)
			}
		}
	}
}
