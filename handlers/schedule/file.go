package schedule

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// FileError is one problem in the schedules file.
type FileError struct {
	Line     int
	Schedule string // the schedule's name, or "schedules[i]" when it has none
	Field    string
	Problem  string
}

func (e *FileError) Error() string {
	var b strings.Builder
	if e.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", e.Line)
	}
	if e.Schedule != "" {
		fmt.Fprintf(&b, "schedule %s: ", e.Schedule)
	}
	if e.Field != "" {
		fmt.Fprintf(&b, "%s: ", e.Field)
	}
	b.WriteString(e.Problem)
	return b.String()
}

// LoadFile reads the schedules file at path; zone is the time zone of
// schedules that name none. Every problem is reported, each naming the
// schedule and field, joined into one error.
func LoadFile(path string, zone *time.Location) ([]Schedule, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("schedule.LoadFile: %w", err)
	}
	out, err := ParseFile(data, zone)
	if err != nil {
		return nil, fmt.Errorf("schedules file %s: %w", path, err)
	}
	return out, nil
}

// ParseFile reads a schedules file:
//
//	schedules:
//	  - name: office-hours
//	    days: mon-fri
//	    start: "08:00"      # omitted: stop only
//	    stop: "19:00"       # omitted: start only
//	    time_zone: Europe/Warsaw
//
// It walks the YAML nodes rather than decoding into a struct, so that every
// error names its line, schedule and field.
func ParseFile(data []byte, zone *time.Location) ([]Schedule, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, err
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, &FileError{Line: doc.Line, Problem: "the file must be a mapping with a schedules list"}
	}
	var (
		errs []error
		list *yaml.Node
	)
	root := doc.Content[0]
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		if k.Value != "schedules" {
			errs = append(errs, &FileError{Line: k.Line, Field: k.Value, Problem: "unknown field"})
			continue
		}
		list = v
	}
	if list == nil || list.Kind != yaml.SequenceNode {
		return nil, errors.Join(append(errs, &FileError{Line: root.Line, Field: "schedules", Problem: "must be a list"})...)
	}
	var out []Schedule
	seen := map[string]int{}
	for i, n := range list.Content {
		label := fmt.Sprintf("schedules[%d]", i)
		if n.Kind != yaml.MappingNode {
			errs = append(errs, &FileError{Line: n.Line, Schedule: label, Problem: "must be a mapping"})
			continue
		}
		fields := map[string]string{}
		lines := map[string]int{}
		for j := 0; j+1 < len(n.Content); j += 2 {
			if k, v := n.Content[j], n.Content[j+1]; k.Value == "name" && v.Kind == yaml.ScalarNode && v.Value != "" {
				label = v.Value
			}
		}
		for j := 0; j+1 < len(n.Content); j += 2 {
			k, v := n.Content[j], n.Content[j+1]
			switch {
			case !knownField(k.Value):
				errs = append(errs, &FileError{Line: k.Line, Schedule: label, Field: k.Value, Problem: "unknown field (name, days, start, stop, time_zone)"})
			case lines[k.Value] != 0:
				errs = append(errs, &FileError{Line: k.Line, Schedule: label, Field: k.Value, Problem: "given twice"})
			case v.Kind != yaml.ScalarNode:
				errs = append(errs, &FileError{Line: k.Line, Schedule: label, Field: k.Value, Problem: "must be a single value"})
			default:
				fields[k.Value], lines[k.Value] = v.Value, k.Line
			}
		}
		if prev, dup := seen[fields["name"]]; dup {
			errs = append(errs, &FileError{Line: lines["name"], Schedule: label, Field: "name", Problem: fmt.Sprintf("duplicate name (also at line %d)", prev)})
			continue
		}
		if fields["name"] != "" {
			seen[fields["name"]] = lines["name"]
		}
		s, err := Build(fields["name"], fields["days"], fields["start"], fields["stop"], fields["time_zone"], zone)
		if err != nil {
			e, ok := errors.AsType[*Error](err)
			if !ok {
				errs = append(errs, err)
				continue
			}
			field := fileField(e.Field)
			line := lines[field]
			if line == 0 {
				line = n.Line
			}
			errs = append(errs, &FileError{Line: line, Schedule: label, Field: field, Problem: e.Problem})
			continue
		}
		out = append(out, s)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

func knownField(k string) bool {
	switch k {
	case "name", "days", "start", "stop", "time_zone":
		return true
	}
	return false
}

// fileField is the file's name for a field Build reports.
func fileField(f string) string {
	switch f {
	case "time zone":
		return "time_zone"
	case "times", "schedule":
		return "stop"
	}
	return f
}
