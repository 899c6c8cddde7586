package ec2ops

import (
	"context"
	"encoding/base64"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
)

// Console is an instance's console output as EC2 captured it.
type Console struct {
	// Lines are the output, oldest first, decoded and cleaned: terminal
	// escape sequences and control characters removed, invalid UTF-8
	// replaced, trailing space trimmed. Empty when EC2 has captured nothing.
	Lines []string
	// Captured is when EC2 captured the output; zero when it did not say.
	Captured time.Time
}

// ConsoleOutput reads the console output of the instance (ec2:GetConsoleOutput,
// with the account's shared credentials). inst comes from List or Describe;
// an instance outside the account's managed-tag scope is reported as not
// found.
func (f *Fleet) ConsoleOutput(ctx context.Context, inst Instance) (Console, error) {
	const op = "ec2ops.ConsoleOutput"
	a, terr := f.scoped(op, inst)
	if terr != nil {
		return Console{}, terr
	}
	out, err := a.ec2[inst.Region].GetConsoleOutput(ctx, &ec2.GetConsoleOutputInput{InstanceId: aws.String(inst.ID)})
	if err != nil {
		e := f.awsErr(op, a, inst.Region, inst.ID, err)
		e.Name = inst.Name
		return Console{}, e
	}
	c := Console{Captured: aws.ToTime(out.Timestamp)}
	raw, err := base64.StdEncoding.DecodeString(aws.ToString(out.Output))
	if err != nil {
		// Not base64 after all: show what came, cleaned like the rest.
		raw = []byte(aws.ToString(out.Output))
	}
	c.Lines = consoleLines(raw)
	return c, nil
}

// ansiEscape matches terminal escape sequences: CSI (colours, cursor
// moves), OSC (titles) and two-character escapes.
var ansiEscape = regexp.MustCompile(`\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_])`)

// consoleLines turns raw console bytes into printable lines.
func consoleLines(raw []byte) []string {
	s := strings.ToValidUTF8(string(raw), string(utf8.RuneError))
	s = ansiEscape.ReplaceAllString(s, "")
	s = strings.ReplaceAll(s, "\r\n", "\n")
	var lines []string
	for l := range strings.SplitSeq(s, "\n") {
		// A lone carriage return redraws the line: keep what was drawn last.
		if i := strings.LastIndexByte(strings.TrimRight(l, "\r"), '\r'); i >= 0 {
			l = l[i+1:]
		}
		l = strings.Map(func(r rune) rune {
			switch {
			case r == '\t':
				return ' '
			case unicode.IsControl(r), r == '\u2028', r == '\u2029':
				return -1
			}
			return r
		}, l)
		lines = append(lines, strings.TrimRightFunc(l, unicode.IsSpace))
	}
	// Drop the blank lines at both ends.
	for len(lines) > 0 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	for len(lines) > 0 && lines[0] == "" {
		lines = lines[1:]
	}
	if len(lines) == 0 {
		return nil
	}
	return lines
}
