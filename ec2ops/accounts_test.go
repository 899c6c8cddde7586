package ec2ops_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/charlize-app/charlize/ec2ops"
)

func mustWriteFile(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "accounts.yaml")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// accountErrors collects every *AccountError in err's tree.
func accountErrors(err error) []*ec2ops.AccountError {
	var out []*ec2ops.AccountError
	var walk func(error)
	walk = func(err error) {
		switch e := err.(type) {
		case nil:
		case *ec2ops.AccountError:
			out = append(out, e)
		case interface{ Unwrap() []error }:
			for _, inner := range e.Unwrap() {
				walk(inner)
			}
		default:
			walk(errors.Unwrap(err))
		}
	}
	walk(err)
	return out
}

func TestLoadAccounts(t *testing.T) {
	const full = `
accounts:
  - name: acme-prod
    id: "123456789012"
    role_arn: arn:aws:iam::123456789012:role/charlize
    external_id: acme-7f3c
    regions: [eu-west-1, us-east-1]
    managed_tag: {key: charlize, value: managed}
    workspaces: [T0001]
  - name: acme-dev
    id: "210987654321"
    role_arn: arn:aws:iam::210987654321:role/ops/charlize
  - name: tools
    id: 000011112222
    regions: [us-west-2]
`
	tests := []struct {
		name     string
		file     string // "" means no accounts file
		fallback []string
		want     []ec2ops.Account
	}{
		{
			name:     "no file uses the ambient default account",
			fallback: []string{"eu-central-1"},
			want:     []ec2ops.Account{{Name: "default", Regions: []string{"eu-central-1"}}},
		},
		{
			name:     "full file; omitted regions fall back",
			file:     full,
			fallback: []string{"eu-north-1"},
			want: []ec2ops.Account{
				{
					Name: "acme-prod", ID: "123456789012", RoleARN: "arn:aws:iam::123456789012:role/charlize",
					ExternalID: "acme-7f3c", Regions: []string{"eu-west-1", "us-east-1"},
					ManagedTag: &ec2ops.Tag{Key: "charlize", Value: "managed"}, Workspaces: []string{"T0001"},
				},
				{Name: "acme-dev", ID: "210987654321", RoleARN: "arn:aws:iam::210987654321:role/ops/charlize", Regions: []string{"eu-north-1"}},
				{Name: "tools", ID: "000011112222", Regions: []string{"us-west-2"}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := ""
			if tt.file != "" {
				path = mustWriteFile(t, tt.file)
			}
			got, err := ec2ops.LoadAccounts(path, tt.fallback)
			if err != nil {
				t.Fatalf("LoadAccounts = %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("LoadAccounts mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLoadAccountsErrors(t *testing.T) {
	type where struct{ Account, Field string }
	tests := []struct {
		name     string
		file     string // "" means no accounts file
		fallback []string
		want     []where
	}{
		{name: "no file and no regions", want: []where{{"default", "regions"}}},
		{name: "unknown top-level field", file: "accounts:\n  - {name: a, id: '123456789012', regions: [eu-west-1]}\nextra: 1\n", want: []where{{"", "extra"}}},
		{name: "empty accounts", file: "accounts: []\n", want: []where{{"", "accounts"}}},
		{name: "unknown account field", file: `
accounts:
  - name: acme-prod
    id: "123456789012"
    regions: [eu-west-1]
    rol_arn: arn:aws:iam::123456789012:role/charlize
`, want: []where{{"acme-prod", "rol_arn"}}},
		{name: "duplicate names ignoring case", file: `
accounts:
  - {name: acme, id: "123456789012", role_arn: "arn:aws:iam::123456789012:role/a", regions: [eu-west-1]}
  - {name: ACME, id: "123456789013", role_arn: "arn:aws:iam::123456789013:role/a", regions: [eu-west-1]}
`, want: []where{{"ACME", "name"}}},
		{name: "malformed id", file: `
accounts:
  - {name: acme, id: "12345", regions: [eu-west-1]}
`, want: []where{{"acme", "id"}}},
		{name: "missing id and name", file: `
accounts:
  - {regions: [eu-west-1]}
`, want: []where{{"accounts[0]", "name"}, {"accounts[0]", "id"}}},
		{name: "malformed role ARN", file: `
accounts:
  - {name: acme, id: "123456789012", role_arn: "arn:aws:iam::123456789012:user/bob", regions: [eu-west-1]}
`, want: []where{{"acme", "role_arn"}}},
		{name: "role in another account", file: `
accounts:
  - {name: acme, id: "123456789012", role_arn: "arn:aws:iam::999999999999:role/charlize", regions: [eu-west-1]}
`, want: []where{{"acme", "role_arn"}}},
		{name: "external id without role", file: `
accounts:
  - {name: acme, id: "123456789012", external_id: abc123, regions: [eu-west-1]}
`, want: []where{{"acme", "external_id"}}},
		{name: "malformed and duplicate regions", file: `
accounts:
  - {name: acme, id: "123456789012", regions: [eu-west-1, Europe, eu-west-1]}
`, want: []where{{"acme", "regions"}, {"acme", "regions"}}},
		{name: "bad events fields", file: `
accounts:
  - {name: acme, id: "123456789012", regions: [eu-west-1], channel: "#ops", events_queue_url: "https://sqs.eu-west-1.amazonaws.com/charlize", notify: [alarms]}
`, want: []where{{"acme", "channel"}, {"acme", "events_queue_url"}, {"acme", "notify"}}},
		{name: "regions not a list", file: `
accounts:
  - {name: acme, id: "123456789012", regions: eu-west-1}
`, want: []where{{"acme", "regions"}}},
		{name: "no regions anywhere", file: `
accounts:
  - {name: acme, id: "123456789012"}
`, want: []where{{"acme", "regions"}}},
		{name: "managed tag without value and with unknown field", file: `
accounts:
  - {name: acme, id: "123456789012", regions: [eu-west-1], managed_tag: {key: charlize, vaule: x}}
`, want: []where{{"acme", "managed_tag.vaule"}, {"acme", "managed_tag.value"}}},
		{name: "bad workspace", file: `
accounts:
  - {name: acme, id: "123456789012", regions: [eu-west-1], workspaces: [general]}
`, want: []where{{"acme", "workspaces"}}},
		{name: "name that reads as a state", file: `
accounts:
  - {name: running, id: "123456789012", regions: [eu-west-1]}
`, want: []where{{"running", "name"}}},
		{name: "name that reads as a region", file: `
accounts:
  - {name: eu-west-1, id: "123456789012", regions: [eu-west-1]}
`, want: []where{{"eu-west-1", "name"}}},
		{name: "two accounts on ambient credentials", file: `
accounts:
  - {name: a, id: "123456789012", regions: [eu-west-1]}
  - {name: b, id: "123456789013", regions: [eu-west-1]}
`, want: []where{{"b", "role_arn"}}},
		{name: "field given twice", file: `
accounts:
  - name: a
    id: "123456789012"
    regions: [eu-west-1]
    id: "123456789013"
`, want: []where{{"a", "id"}}},
		{name: "accounts given twice", file: `
accounts:
  - {name: a, id: "123456789012", role_arn: "arn:aws:iam::123456789012:role/a", regions: [eu-west-1]}
accounts:
  - {name: b, id: "123456789013", role_arn: "arn:aws:iam::123456789013:role/a", regions: [eu-west-1]}
`, want: []where{{"", "accounts"}}},
		{name: "every problem at once", file: `
accounts:
  - {name: a, id: "1", regions: [nowhere]}
  - {name: b, id: "123456789012", role_arn: "arn:aws:iam::123456789012:role/x", regions: [eu-west-1], colour: blue}
`, want: []where{{"a", "id"}, {"a", "regions"}, {"b", "colour"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := ""
			if tt.file != "" {
				path = mustWriteFile(t, tt.file)
			}
			accounts, err := ec2ops.LoadAccounts(path, tt.fallback)
			if err == nil {
				t.Fatalf("LoadAccounts = %+v, want error", accounts)
			}
			var got []where
			for _, e := range accountErrors(err) {
				got = append(got, where{e.Account, e.Field})
				if tt.file != "" && e.Line == 0 {
					t.Errorf("error %q has no line number", e)
				}
				if e.Account != "" && !strings.Contains(err.Error(), "account "+e.Account) {
					t.Errorf("error text %q does not name account %s", err, e.Account)
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("LoadAccounts errors (-want +got):\n%s\nfull error: %v", diff, err)
			}
		})
	}
}

func TestLoadAccountsMissingFile(t *testing.T) {
	_, err := ec2ops.LoadAccounts(filepath.Join(t.TempDir(), "nope.yaml"), nil)
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("LoadAccounts(missing) = %v, want os.ErrNotExist", err)
	}
}

func TestParseRegions(t *testing.T) {
	tests := []struct {
		in      string
		want    []string
		wantErr bool
	}{
		{in: "", want: nil},
		{in: "eu-west-1", want: []string{"eu-west-1"}},
		{in: " eu-west-1, us-east-1 ,,eu-west-1", want: []string{"eu-west-1", "us-east-1"}},
		{in: "us-gov-west-1", want: []string{"us-gov-west-1"}},
		{in: "eu-west-1,mars", wantErr: true},
	}
	for _, tt := range tests {
		got, err := ec2ops.ParseRegions(tt.in)
		if (err != nil) != tt.wantErr || !cmp.Equal(got, tt.want) {
			t.Errorf("ParseRegions(%q) = %q, %v, want %q, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestAccountVisibleTo(t *testing.T) {
	open := ec2ops.Account{Name: "a"}
	closed := ec2ops.Account{Name: "b", Workspaces: []string{"T1"}}
	for _, tt := range []struct {
		acct ec2ops.Account
		team string
		want bool
	}{
		{open, "T9", true},
		{closed, "T1", true},
		{closed, "T9", false},
	} {
		if got := tt.acct.VisibleTo(tt.team); got != tt.want {
			t.Errorf("%s.VisibleTo(%s) = %v, want %v", tt.acct.Name, tt.team, got, tt.want)
		}
	}
}

func TestLoadAccountsEventsFields(t *testing.T) {
	path := filepath.Join(t.TempDir(), "accounts.yaml")
	if err := os.WriteFile(path, []byte(`
accounts:
  - name: acme-prod
    id: "123456789012"
    role_arn: arn:aws:iam::123456789012:role/charlize
    regions: [eu-west-1]
    channel: C0123ABCDE
    events_queue_url: https://sqs.eu-west-1.amazonaws.com/123456789012/charlize-events
    notify: [alarm, health]
  - {name: acme-dev, id: "210987654321", regions: [us-east-1]}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := ec2ops.LoadAccounts(path, nil)
	if err != nil {
		t.Fatalf("LoadAccounts = %v", err)
	}
	prod, dev := got[0], got[1]
	if prod.Channel != "C0123ABCDE" || prod.EventsQueueURL != "https://sqs.eu-west-1.amazonaws.com/123456789012/charlize-events" {
		t.Errorf("acme-prod = %+v, want its channel and queue", prod)
	}
	for kind, want := range map[string]bool{"alarm": true, "health": true, "state-change": false} {
		if prod.Notifies(kind) != want {
			t.Errorf("acme-prod.Notifies(%s) = %v, want %v", kind, !want, want)
		}
		if !dev.Notifies(kind) {
			t.Errorf("acme-dev.Notifies(%s) = false, want true (no notify list: everything)", kind)
		}
	}
}

func TestQueueRegion(t *testing.T) {
	for url, want := range map[string]string{
		"https://sqs.eu-west-1.amazonaws.com/123456789012/q":   "eu-west-1",
		"https://us-east-2.queue.amazonaws.com/123456789012/q": "us-east-2",
		"http://127.0.0.1:4566/123456789012/q":                 "",
	} {
		if got := ec2ops.QueueRegion(url); got != want {
			t.Errorf("QueueRegion(%s) = %q, want %q", url, got, want)
		}
	}
}
