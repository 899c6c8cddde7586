package ec2sim

import (
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"hash/fnv"
	"strings"
	"time"
)

// GetConsoleOutput answers with the instance's console as EC2 does: the
// bytes base64-encoded, with the time they were captured. An instance that
// never ran has no output (the element is absent, as in EC2).

// SetConsoleOutput replaces what GetConsoleOutput returns for an instance;
// out may be empty or hold any bytes. It reports whether the instance exists.
func (s *Sim) SetConsoleOutput(account, region, id string, out []byte) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.recordLocked(account, region, id)
	if r == nil {
		return false
	}
	b := append([]byte{}, out...)
	r.console = &b
	return true
}

type getConsoleOutputResponse struct {
	XMLName    xml.Name `xml:"GetConsoleOutputResponse"`
	Xmlns      string   `xml:"xmlns,attr"`
	RequestID  string   `xml:"requestId"`
	InstanceID string   `xml:"instanceId"`
	Timestamp  string   `xml:"timestamp"`
	Output     string   `xml:"output,omitempty"`
}

func (s *Sim) getConsoleOutput(req *request, acct string) (any, *apiError) {
	r, err := s.attributeRecord(req, acct)
	if err != nil {
		return nil, err
	}
	if err := dryRun(req); err != nil {
		return nil, err
	}
	out, captured := consoleOf(r, req.now)
	resp := getConsoleOutputResponse{Xmlns: ec2Namespace, RequestID: req.id, InstanceID: r.inst.ID, Timestamp: awsTime(captured)}
	if len(out) > 0 {
		resp.Output = base64.StdEncoding.EncodeToString(out)
	}
	return resp, nil
}

// consoleOf is the console an instance shows at now and when it was
// captured: EC2 keeps the output of the last boot, captured a little after
// the instance reached running.
func consoleOf(r *record, now time.Time) ([]byte, time.Time) {
	captured := r.inst.LaunchTime.Add(90 * time.Second)
	if captured.After(now) {
		captured = now
	}
	if r.console != nil {
		return *r.console, captured
	}
	if r.inst.ConsoleOutput != "" {
		return []byte(r.inst.ConsoleOutput), captured
	}
	if r.inst.State == StatePending && now.Sub(r.since) < time.Minute {
		return nil, captured // still booting: nothing captured yet
	}
	return bootLog(r.inst), captured
}

// bootLog is a deterministic, plausible Linux boot log for inst.
func bootLog(inst Instance) []byte {
	h := fnv.New32a()
	_, _ = h.Write([]byte(inst.ID))
	seed := h.Sum32()
	name := inst.Name()
	if name == "" {
		name = "ip-" + strings.ReplaceAll(inst.PrivateIP, ".", "-")
	}
	var b strings.Builder
	t := 0.0
	line := func(format string, args ...any) {
		t += float64(seed%97)/1000 + 0.013
		fmt.Fprintf(&b, "[%12.6f] "+format+"\r\n", append([]any{t}, args...)...)
	}
	line("Linux version 6.1.%d-%d.amzn2023.x86_64 (mockbuild@ip-10-0-0-1) (gcc (GCC) 11.4.1)", 100+seed%60, 100+seed%40)
	line("Command line: BOOT_IMAGE=(hd0,gpt1)/boot/vmlinuz root=UUID=%08x-0000 ro console=tty0 console=ttyS0,115200n8", seed)
	line("DMI: Amazon EC2 %s, BIOS 1.0 10/16/2017", inst.Type)
	line("Hypervisor detected: KVM")
	line("Memory: %dK/%dK available", 900000+seed%50000, 1000000)
	line("ena 0000:00:05.0: Elastic Network Adapter (ENA) v2.13.0g")
	line("EXT4-fs (nvme0n1p1): mounted filesystem with ordered data mode")
	line("systemd[1]: Hostname set to <%s>.", name)
	b.WriteString("\r\n")
	fmt.Fprintf(&b, "Amazon Linux 2023\r\nKernel 6.1 on an x86_64 (-)\r\n\r\n%s login: ", name)
	b.WriteString("\r\ncloud-init[1201]: Cloud-init v. 22.2.2 finished. Datasource DataSourceEc2.  Up 14.31 seconds\r\n")
	return []byte(b.String())
}
