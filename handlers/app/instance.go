package app

import (
	"slices"

	"github.com/charlize-app/charlize/blocks"
	"github.com/charlize-app/charlize/ec2ops"
	"github.com/charlize-app/charlize/ec2ops/action"
)

// buttonOrder is the order of an instance's buttons.
var buttonOrder = []action.Action{
	action.Status, action.Start, action.Stop,
	action.Reboot, action.Restart, action.Terminate,
}

// instanceView maps an instance to its view with the buttons its state
// allows, each carrying value (a session nonce and the item index).
func instanceView(i ec2ops.Instance, value string) blocks.InstanceView {
	return actionableView(i, value, nil)
}

// actionableView is instanceView keeping only the buttons may allows
// (nil: all that the state allows).
func actionableView(i ec2ops.Instance, value string, may func(ec2ops.Instance, action.Action) bool) blocks.InstanceView {
	v := blocks.InstanceView{
		ID: i.ID, Name: i.Name, State: i.State, Type: i.Type,
		Account: i.Account, Region: i.Region, AZ: i.AZ,
		PrivateIP: i.PrivateIP, PublicIP: i.PublicIP, PublicDNS: i.PublicDNS, Platform: i.Platform,
		LaunchTime: i.LaunchTime,
	}
	if value == "" {
		return v
	}
	for _, a := range buttonOrder {
		if ec2ops.Allowed(a, i.State) == nil && (may == nil || may(i, a)) {
			v.Buttons = append(v.Buttons, blocks.Button{Kind: a, Value: value})
		}
	}
	return v
}

// detailView is actionableView plus what Describe knows: its protections,
// and only the buttons they leave working (no Stop or Restart on a
// stop-protected instance).
func detailView(d ec2ops.Detail, value string, may func(ec2ops.Instance, action.Action) bool) blocks.InstanceView {
	v := actionableView(d.Instance, value, may)
	v.Buttons = slices.DeleteFunc(v.Buttons, func(b blocks.Button) bool { return d.Allows(b.Kind) != nil })
	terminate, stop := d.TerminationProtected, d.StopProtected
	v.TerminationProtected, v.StopProtected = &terminate, &stop
	return v
}
