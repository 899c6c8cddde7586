package handlers

import (
	"github.com/charlize-app/charlize/blocks"
	"github.com/charlize-app/charlize/ec2ops"
)

// buttonOrder is the order of an instance's buttons.
var buttonOrder = []ec2ops.Action{
	ec2ops.ActionStatus, ec2ops.ActionStart, ec2ops.ActionStop,
	ec2ops.ActionReboot, ec2ops.ActionRestart, ec2ops.ActionTerminate,
}

// instanceView maps an instance to its view with the buttons its state
// allows, each carrying value (a session nonce and the item index).
func instanceView(i ec2ops.Instance, value string) blocks.InstanceView {
	v := blocks.InstanceView{
		ID: i.ID, Name: i.Name, State: i.State, Type: i.Type,
		Account: i.Account, Region: i.Region, AZ: i.AZ,
		PrivateIP: i.PrivateIP, PublicIP: i.PublicIP, Platform: i.Platform,
		LaunchTime: i.LaunchTime,
	}
	if value == "" {
		return v
	}
	for _, a := range buttonOrder {
		if a.Allowed(i.State) == nil {
			v.Buttons = append(v.Buttons, blocks.Button{Kind: string(a), Value: value})
		}
	}
	return v
}

// detailView is instanceView plus what Describe knows.
func detailView(d ec2ops.Detail, value string) blocks.InstanceView {
	v := instanceView(d.Instance, value)
	protected := d.TerminationProtected
	v.TerminationProtected = &protected
	return v
}
