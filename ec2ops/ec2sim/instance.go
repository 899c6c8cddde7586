package ec2sim

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// Instance states, as EC2 names them.
const (
	StatePending      = "pending"
	StateRunning      = "running"
	StateShuttingDown = "shutting-down"
	StateTerminated   = "terminated"
	StateStopping     = "stopping"
	StateStopped      = "stopped"
)

// stateCodes are EC2's numeric state codes (the low byte of instanceState/code).
var stateCodes = map[string]int{
	StatePending:      0,
	StateRunning:      16,
	StateShuttingDown: 32,
	StateTerminated:   48,
	StateStopping:     64,
	StateStopped:      80,
}

// settledState is where each transitional state ends up.
var settledState = map[string]string{
	StatePending:      StateRunning,
	StateStopping:     StateStopped,
	StateShuttingDown: StateTerminated,
}

// Instance is one simulated EC2 instance.
type Instance struct {
	ID                    string            `yaml:"id" json:"id"`
	Type                  string            `yaml:"type" json:"type"`   // default t3.micro
	State                 string            `yaml:"state" json:"state"` // pending|running|stopping|stopped|shutting-down|terminated; default running
	AZ                    string            `yaml:"az" json:"az"`       // default region+"a"
	PrivateIP             string            `yaml:"private_ip" json:"private_ip"`
	PublicIP              string            `yaml:"public_ip" json:"public_ip"`
	LaunchTime            time.Time         `yaml:"launch_time" json:"launch_time"` // default: when Put or loaded
	Platform              string            `yaml:"platform" json:"platform"`       // "" or "windows"
	Tags                  map[string]string `yaml:"tags" json:"tags"`               // the Name tag is the instance name
	DisableAPITermination bool              `yaml:"disable_api_termination" json:"disable_api_termination"`
	DisableAPIStop        bool              `yaml:"disable_api_stop" json:"disable_api_stop"` // stop protection
	// ConsoleOutput is what GetConsoleOutput returns (raw bytes, any
	// encoding); "" gives a generated boot log once the instance has run.
	ConsoleOutput string `yaml:"console_output" json:"console_output"`
}

// Name returns the instance's Name tag.
func (i Instance) Name() string { return i.Tags["Name"] }

func (i Instance) clone() Instance {
	i.Tags = maps.Clone(i.Tags)
	return i
}

// record is an instance plus what the lazy state machine needs.
type record struct {
	inst   Instance
	since  time.Time // when inst.State was entered
	reason string    // stateTransitionReason
	// console, when set, replaces inst.ConsoleOutput (SetConsoleOutput),
	// so a test can ask for an empty output too.
	console *[]byte
	// stoppedAt is when a stop or terminate call ended the instance's run;
	// zero for one that was loaded not running, whose run is unknown.
	stoppedAt time.Time
}

// validState reports whether s is an EC2 instance state name.
func validState(s string) bool {
	_, ok := stateCodes[s]
	return ok
}

// settle advances a transitional state that has lasted long enough.
func (r *record) settle(now time.Time, d time.Duration) {
	next, ok := settledState[r.inst.State]
	if !ok || now.Sub(r.since) < d {
		return
	}
	r.since = r.since.Add(d)
	r.inst.State = next
}

// set moves the record to state at now.
func (r *record) set(state string, now time.Time) {
	r.inst.State = state
	r.since = now
}

// stateChange is one item of a Start/Stop/TerminateInstances answer.
type stateChange struct {
	id            string
	previous, cur string
}

// Put adds or replaces an instance in account's fleet in region, applying
// the defaults documented on Instance; an empty ID gets a generated one.
// A transitional state starts now.
func (s *Sim) Put(account, region string, inst Instance) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.putLocked(account, region, inst, s.now())
}

func (s *Sim) putLocked(account, region string, inst Instance, now time.Time) {
	inst = inst.clone()
	if inst.ID == "" {
		s.seq++
		inst.ID = fmt.Sprintf("i-%017x", 0xe000000000000000+s.seq)
	}
	if inst.Type == "" {
		inst.Type = DefaultInstanceType
	}
	if inst.State == "" {
		inst.State = StateRunning
	}
	if inst.AZ == "" {
		inst.AZ = region + "a"
	}
	if inst.LaunchTime.IsZero() {
		inst.LaunchTime = now
	}
	inst.LaunchTime = inst.LaunchTime.UTC()
	if inst.Tags == nil {
		inst.Tags = map[string]string{}
	}
	a := s.accountLocked(account)
	fleet := a.regions[region]
	if fleet == nil {
		fleet = map[string]*record{}
		a.regions[region] = fleet
	}
	fleet[inst.ID] = &record{inst: inst, since: now}
}

// Get returns the instance as of now.
func (s *Sim) Get(account, region, id string) (Instance, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.recordLocked(account, region, id)
	if r == nil {
		return Instance{}, false
	}
	r.settle(s.now(), s.transition)
	return r.inst.clone(), true
}

// List returns account's instances in region as of now, sorted by ID.
func (s *Sim) List(account, region string) []Instance {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	var out []Instance
	for _, r := range s.fleetLocked(account, region) {
		r.settle(now, s.transition)
		out = append(out, r.inst.clone())
	}
	return out
}

func (s *Sim) recordLocked(account, region, id string) *record {
	a := s.accounts[account]
	if a == nil {
		return nil
	}
	return a.regions[region][id]
}

// fleetLocked returns the records of account in region, sorted by ID.
func (s *Sim) fleetLocked(account, region string) []*record {
	a := s.accounts[account]
	if a == nil {
		return nil
	}
	fleet := a.regions[region]
	out := make([]*record, 0, len(fleet))
	for _, r := range fleet {
		out = append(out, r)
	}
	slices.SortFunc(out, func(x, y *record) int { return strings.Compare(x.inst.ID, y.inst.ID) })
	return out
}
