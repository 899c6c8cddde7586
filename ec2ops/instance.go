package ec2ops

import (
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
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
}

func fromEC2(account, region string, in types.Instance) Instance {
	inst := Instance{
		Account:    account,
		Region:     region,
		ID:         aws.ToString(in.InstanceId),
		Type:       string(in.InstanceType),
		PrivateIP:  aws.ToString(in.PrivateIpAddress),
		PublicIP:   aws.ToString(in.PublicIpAddress),
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
