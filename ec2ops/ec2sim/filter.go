package ec2sim

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// filter is one DescribeInstances Filter.N: the instance matches when any
// value matches; all filters must match.
type filter struct {
	name   string
	values []string
}

// parseFilters reads Filter.N.Name / Filter.N.Value.M.
func parseFilters(req *request) ([]filter, *apiError) {
	var out []filter
	for i := 1; ; i++ {
		prefix := fmt.Sprintf("Filter.%d", i)
		name := req.get(prefix + ".Name")
		values := req.list(prefix + ".Value")
		if name == "" && len(values) == 0 {
			return out, nil
		}
		if name == "" {
			return nil, errorf(http.StatusBadRequest, "InvalidParameterValue", "The filter name is missing for %s", prefix)
		}
		if _, ok := instanceFields[name]; !ok && !strings.HasPrefix(name, "tag:") {
			return nil, errorf(http.StatusBadRequest, "InvalidParameterValue", "The filter '%s' is invalid", name)
		}
		if len(values) == 0 {
			return nil, errorf(http.StatusBadRequest, "InvalidParameterValue", "The filter '%s' requires at least one value", name)
		}
		out = append(out, filter{name: name, values: values})
	}
}

// instanceFields are the supported filter names and how to read each from an
// instance. Fields with several values (tag-key, tag-value) return them all.
var instanceFields = map[string]func(r *record, owner string) []string{
	"instance-id":         func(r *record, _ string) []string { return []string{r.inst.ID} },
	"instance-state-name": func(r *record, _ string) []string { return []string{r.inst.State} },
	"instance-state-code": func(r *record, _ string) []string {
		return []string{strconv.Itoa(stateCodes[r.inst.State])}
	},
	"instance-type":      func(r *record, _ string) []string { return []string{r.inst.Type} },
	"availability-zone":  func(r *record, _ string) []string { return []string{r.inst.AZ} },
	"platform":           func(r *record, _ string) []string { return optional(r.inst.Platform) },
	"private-ip-address": func(r *record, _ string) []string { return optional(r.inst.PrivateIP) },
	"ip-address":         func(r *record, _ string) []string { return optional(r.inst.PublicIP) },
	"launch-time":        func(r *record, _ string) []string { return []string{awsTime(r.inst.LaunchTime)} },
	"reservation-id":     func(r *record, _ string) []string { return []string{reservationID(r.inst.ID)} },
	"owner-id":           func(_ *record, owner string) []string { return []string{owner} },
	"tag-key": func(r *record, _ string) []string {
		out := make([]string, 0, len(r.inst.Tags))
		for k := range r.inst.Tags {
			out = append(out, k)
		}
		return out
	},
	"tag-value": func(r *record, _ string) []string {
		out := make([]string, 0, len(r.inst.Tags))
		for _, v := range r.inst.Tags {
			out = append(out, v)
		}
		return out
	},
}

func optional(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}

// matches reports whether r (already settled) passes every filter.
func matches(r *record, owner string, filters []filter) bool {
	for _, f := range filters {
		var have []string
		if key, ok := strings.CutPrefix(f.name, "tag:"); ok {
			if v, ok := r.inst.Tags[key]; ok {
				have = []string{v}
			}
		} else {
			have = instanceFields[f.name](r, owner)
		}
		if !anyMatch(f.values, have) {
			return false
		}
	}
	return true
}

func anyMatch(patterns, have []string) bool {
	for _, p := range patterns {
		for _, h := range have {
			if wildcardMatch(p, h) {
				return true
			}
		}
	}
	return false
}

// wildcardMatch matches s against an EC2 filter value: '*' matches any run
// of characters, '?' exactly one, and a backslash makes the next character
// literal. Matching is case-sensitive, as in EC2.
func wildcardMatch(pattern, s string) bool {
	type tok struct {
		r       rune
		literal bool
	}
	var p []tok
	pr := []rune(pattern)
	for i := 0; i < len(pr); i++ {
		if pr[i] == '\\' && i+1 < len(pr) {
			i++
			p = append(p, tok{pr[i], true})
			continue
		}
		p = append(p, tok{pr[i], false})
	}
	sr := []rune(s)
	// Iterative glob matching with single-star backtracking.
	pi, si := 0, 0
	star, mark := -1, 0
	for si < len(sr) {
		switch {
		case pi < len(p) && !p[pi].literal && p[pi].r == '*':
			star, mark = pi, si
			pi++
		case pi < len(p) && ((!p[pi].literal && p[pi].r == '?') || p[pi].r == sr[si]):
			pi++
			si++
		case star >= 0:
			pi = star + 1
			mark++
			si = mark
		default:
			return false
		}
	}
	for pi < len(p) && !p[pi].literal && p[pi].r == '*' {
		pi++
	}
	return pi == len(p)
}
