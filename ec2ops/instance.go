package ec2ops

import (
	"errors"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/charlize-app/charlize/ec2ops/action"
)

// Instance is an EC2 instance as Charlize shows it; no SDK types leak out.
type Instance struct {
	Account    string // account name
	Region     string
	ID         string
	Name       string // the Name tag
	Type       string
	State      string // pending, running, stopping, stopped, shutting-down, terminated
	AZ         string
	PrivateIP  string
	PublicIP   string
	PublicDNS  string // the public DNS name, when the instance has one
	Platform   string // e.g. "windows" or "Linux/UNIX"
	LaunchTime time.Time
	Tags       map[string]string
}

// DisplayName is the Name tag, or the id for unnamed instances.
func (i Instance) DisplayName() string {
	if i.Name != "" {
		return i.Name
	}
	return i.ID
}

// Detail is an instance with what only a per-instance lookup tells.
type Detail struct {
	Instance
	// TerminationProtected is the disableApiTermination attribute. Describe
	// always fetches it; Check fetches it only for terminate.
	TerminationProtected bool
	// StopProtected is the disableApiStop attribute (stop protection).
	// Describe always fetches it; Check fetches it for stop and restart.
	StopProtected bool
}

// Allows reports whether action a can work on the instance as described:
// its state allows it (Allowed), and no protection forbids it — stop
// protection refuses stop and restart (KindProtected). Termination
// protection is left to the terminate flow, which explains it. UIs use it
// to offer only the buttons that will work.
func (d Detail) Allows(a action.Action) error {
	if err := Allowed(a, d.State); err != nil {
		return err
	}
	if d.StopProtected && stopsInstance(a) {
		return &Error{Kind: KindProtected, Op: "ec2ops.Allows", Account: d.Account, Region: d.Region, InstanceID: d.ID,
			Name: d.Name, Action: a, Err: errors.New("disableApiStop is set")}
	}
	return nil
}

// stopsInstance reports whether a stops the instance on its way, which
// stop protection forbids.
func stopsInstance(a action.Action) bool { return a == action.Stop || a == action.Restart }

func fromEC2(account, region string, in types.Instance) Instance {
	inst := Instance{
		Account:    account,
		Region:     region,
		ID:         aws.ToString(in.InstanceId),
		Type:       string(in.InstanceType),
		PrivateIP:  aws.ToString(in.PrivateIpAddress),
		PublicIP:   aws.ToString(in.PublicIpAddress),
		PublicDNS:  aws.ToString(in.PublicDnsName),
		Platform:   string(in.Platform),
		LaunchTime: aws.ToTime(in.LaunchTime),
		Tags:       make(map[string]string, len(in.Tags)),
	}
	if inst.Platform == "" {
		inst.Platform = aws.ToString(in.PlatformDetails)
	}
	if in.State != nil {
		inst.State = string(in.State.Name)
	}
	if in.Placement != nil {
		inst.AZ = aws.ToString(in.Placement.AvailabilityZone)
	}
	for _, t := range in.Tags {
		inst.Tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	inst.Name = inst.Tags["Name"]
	return inst
}

// inScope enforces the account's managed-tag scope: instances without the
// tag do not exist as far as Charlize's users are concerned.
func inScope(scope *Tag, inst Instance) bool {
	if scope == nil {
		return true
	}
	v, ok := inst.Tags[scope.Key]
	return ok && v == scope.Value
}
