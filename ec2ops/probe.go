package ec2ops

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
)

// Probe is what one account and region answered to a check before going
// live: whether its credentials could be had (AssumeRole, for an account
// with a role) and whether DescribeInstances is allowed (a DryRun call,
// which reads nothing).
type Probe struct {
	Account, Region string
	// RoleARN is the account's role, "" for the ambient credentials.
	RoleARN string
	// Credentials is nil when credentials were obtained, else an *Error of
	// KindAssumeRole (or KindTimeout, KindCanceled).
	Credentials error
	// Describe is nil when DescribeInstances is allowed, else an *Error
	// naming the refused IAM action; it is not tried without credentials.
	Describe error
}

// Probe checks account in region; see Probe. It returns an error only
// for an unknown account or region.
func (f *Fleet) Probe(ctx context.Context, account, region string) (Probe, error) {
	a, ok := f.set.Load().byName[strings.ToLower(account)]
	if !ok || a.ec2[region] == nil {
		return Probe{}, &Error{Kind: KindInvalidRequest, Op: "ec2ops.Probe", Account: account, Region: region,
			Err: fmt.Errorf("account %q is not configured for region %q", account, region)}
	}
	p := Probe{Account: a.Name, Region: region, RoleARN: a.RoleARN}
	client := a.ec2[region]
	if creds := client.Options().Credentials; creds != nil {
		if _, err := creds.Retrieve(ctx); err != nil {
			// A role's failure arrives as an assumeRoleError (KindAssumeRole);
			// missing ambient credentials as the SDK's own error.
			p.Credentials = f.awsErr("ec2ops.Probe", a, region, "", err)
			return p, nil
		}
	}
	_, err := client.DescribeInstances(ctx, &ec2.DescribeInstancesInput{DryRun: aws.Bool(true)})
	if err != nil && apiCode(err) != "DryRunOperation" {
		p.Describe = f.awsErr("ec2ops.Probe", a, region, "", err)
	}
	return p, nil
}
