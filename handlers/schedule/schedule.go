// Package schedule reads Charlize's schedules ("mon-fri 08:00-19:00
// Europe/Warsaw") and says when they act: the starts and stops of each day
// in the schedule's time zone, with daylight-saving changes resolved (a time
// that does not exist runs at the first minute after the gap, a time that
// happens twice runs once). It also reads the schedules file. It performs no
// I/O beyond reading that file, keeps no clock and knows nothing of AWS or
// Slack.
package schedule

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/charlize-app/charlize/ec2ops/action"
)

// Tag is the EC2 tag whose value names the schedule an instance follows.
const Tag = "charlize:schedule"

// Example is a schedule as users type it, for error messages and help.
const Example = "office-hours mon-fri 08:00-19:00 Europe/Warsaw"

// Schedule is a weekly pattern of starts and stops in one time zone.
type Schedule struct {
	Name  string
	Days  Days
	Start TimeOfDay // None for a stop-only schedule
	Stop  TimeOfDay // None for a start-only schedule
	Zone  *time.Location
}

// TimeOfDay is a wall-clock time as minutes after midnight.
type TimeOfDay int

// None marks a schedule without a start, or without a stop.
const None TimeOfDay = -1

// String is "08:00", or "" for None.
func (t TimeOfDay) String() string {
	if t == None {
		return ""
	}
	return fmt.Sprintf("%02d:%02d", int(t)/60, int(t)%60)
}

// Days is a set of weekdays, bit i for time.Weekday(i), as cron's
// day-of-week field sets them.
type Days uint8

// Has reports whether d includes w.
func (d Days) Has(w time.Weekday) bool { return d&(1<<uint(w)) != 0 }

// String names the days compactly: "daily", "mon-fri", "sat,sun", "mon,wed-fri".
func (d Days) String() string {
	if d == allDays {
		return "daily"
	}
	// Monday first, as people read a week; a run of three or more is a range.
	order := []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday, time.Saturday, time.Sunday}
	var parts []string
	for i := 0; i < len(order); {
		if !d.Has(order[i]) {
			i++
			continue
		}
		j := i
		for j+1 < len(order) && d.Has(order[j+1]) {
			j++
		}
		switch {
		case j-i >= 2:
			parts = append(parts, dayName(order[i])+"-"+dayName(order[j]))
		case j == i+1:
			parts = append(parts, dayName(order[i]), dayName(order[j]))
		default:
			parts = append(parts, dayName(order[i]))
		}
		i = j + 1
	}
	return strings.Join(parts, ",")
}

const allDays Days = 0x7f

func dayName(w time.Weekday) string { return strings.ToLower(w.String()[:3]) }

// Error is a schedule that cannot be read: which part, and what is wrong
// with it, in words for the person who typed it.
type Error struct {
	Schedule string // the schedule's name, when known
	Field    string // name, days, times, time zone
	Problem  string
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.Schedule != "" {
		fmt.Fprintf(&b, "schedule %s: ", e.Schedule)
	}
	if e.Field != "" {
		fmt.Fprintf(&b, "%s: ", e.Field)
	}
	b.WriteString(e.Problem)
	return b.String()
}

// UserMessage is the problem with an example of a schedule that works.
func (e *Error) UserMessage() string {
	return fmt.Sprintf("That schedule's %s is wrong: %s. Example: `%s`.", e.Field, e.Problem, Example)
}

var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,39}$`)

// CheckName refuses a name that cannot be a tag value and part of an IAM
// role session name (charlize-schedule-<name>, at most 64 characters).
func CheckName(name string) error {
	if !nameRE.MatchString(name) {
		return &Error{Field: "name", Problem: fmt.Sprintf("%q must be 1-40 lower-case letters, digits or '-', starting with a letter or digit", name)}
	}
	return nil
}

// Parse reads "<days> <start>-<stop> [<time zone>]" for the schedule name;
// zone is the time zone when the text names none.
func Parse(name, text string, zone *time.Location) (Schedule, error) {
	if err := CheckName(name); err != nil {
		return Schedule{}, err
	}
	fields := strings.Fields(text)
	if len(fields) < 2 || len(fields) > 3 {
		return Schedule{}, &Error{Schedule: name, Field: "schedule", Problem: fmt.Sprintf("%q should be days, times and an optional time zone", text)}
	}
	var zoneName string
	if len(fields) == 3 {
		zoneName = fields[2]
	}
	start, stop, ok := strings.Cut(fields[1], "-")
	if !ok {
		return Schedule{}, &Error{Schedule: name, Field: "times", Problem: fmt.Sprintf("%q should be <start>-<stop> such as 08:00-19:00, -19:00 (stop only) or 08:00- (start only)", fields[1])}
	}
	return Build(name, fields[0], start, stop, zoneName, zone)
}

// Build makes a schedule from its parts as the modal and the schedules file
// give them: days ("mon-fri"), start and stop ("08:00"; "" for none), and
// an IANA time zone name ("" = zone).
func Build(name, days, start, stop, zoneName string, zone *time.Location) (Schedule, error) {
	s := Schedule{Name: name, Zone: zone}
	if err := CheckName(name); err != nil {
		return s, err
	}
	var err error
	if s.Days, err = ParseDays(days); err != nil {
		return s, withName(err, name)
	}
	if s.Start, err = parseTime("start", start); err != nil {
		return s, withName(err, name)
	}
	if s.Stop, err = parseTime("stop", stop); err != nil {
		return s, withName(err, name)
	}
	switch {
	case s.Start == None && s.Stop == None:
		return s, &Error{Schedule: name, Field: "times", Problem: "give a start, a stop, or both"}
	case s.Start == s.Stop:
		return s, &Error{Schedule: name, Field: "times", Problem: "the start and the stop are the same time"}
	}
	if zoneName != "" {
		if s.Zone, err = LoadZone(zoneName); err != nil {
			return s, withName(err, name)
		}
	}
	if s.Zone == nil {
		s.Zone = time.UTC
	}
	return s, nil
}

func withName(err error, name string) error {
	if e, ok := errors.AsType[*Error](err); ok {
		e.Schedule = name
	}
	return err
}

// LoadZone loads an IANA time zone by name; "Local" is refused, as it
// means whatever the server's zone is.
func LoadZone(name string) (*time.Location, error) {
	loc, err := time.LoadLocation(name)
	if err != nil || name == "Local" || name == "" {
		return nil, &Error{Field: "time zone", Problem: fmt.Sprintf("%q is not an IANA time zone name (like Europe/Warsaw, America/New_York or UTC)", name)}
	}
	return loc, nil
}

var timeRE = regexp.MustCompile(`^([01]?[0-9]|2[0-3]):([0-5][0-9])$`)

func parseTime(field, s string) (TimeOfDay, error) {
	if s == "" {
		return None, nil
	}
	m := timeRE.FindStringSubmatch(s)
	if m == nil {
		return None, &Error{Field: field, Problem: fmt.Sprintf("%q is not a time of day (use 24-hour HH:MM, like 08:00 or 19:30)", s)}
	}
	h, _ := strconv.Atoi(m[1])
	mi, _ := strconv.Atoi(m[2])
	return TimeOfDay(h*60 + mi), nil
}

// dayParser reads cron's day-of-week field alone: names, lists and ranges.
var dayParser = cron.NewParser(cron.Dow)

var dayAliases = map[string]string{"daily": "*", "weekdays": "mon-fri", "weekends": "sat,sun"}

// ParseDays reads "daily", "weekdays", "weekends", or a comma list of day
// names and ranges of them ("mon-fri", "sat,sun", "mon,wed-fri").
func ParseDays(s string) (Days, error) {
	text := strings.ToLower(strings.TrimSpace(s))
	bad := func(part string) error {
		return &Error{Field: "days", Problem: fmt.Sprintf("%q is not a day name or range (use mon, tue, … sun, ranges such as mon-fri, lists such as sat,sun, or daily)", part)}
	}
	if alias, ok := dayAliases[text]; ok {
		text = alias
	} else {
		// Cron also takes numbers, steps, * and ?; people are asked for names.
		for part := range strings.SplitSeq(text, ",") {
			for _, name := range strings.Split(part, "-") {
				if len(name) != 3 || strings.Trim(name, "abcdefghijklmnopqrstuvwxyz") != "" {
					return 0, bad(part)
				}
			}
			if _, err := dayParser.Parse(part); err != nil {
				return 0, bad(part)
			}
		}
	}
	sched, err := dayParser.Parse(text)
	if err != nil {
		return 0, bad(text)
	}
	spec, ok := sched.(*cron.SpecSchedule)
	if !ok || Days(spec.Dow&uint64(allDays)) == 0 {
		return 0, bad(text)
	}
	return Days(spec.Dow & uint64(allDays)), nil
}

// String is the schedule as Parse reads it: "mon-fri 08:00-19:00 Europe/Warsaw".
func (s Schedule) String() string {
	return s.Days.String() + " " + s.Start.String() + "-" + s.Stop.String() + " " + s.ZoneName()
}

// ZoneName is the schedule's IANA time zone name.
func (s Schedule) ZoneName() string {
	if s.Zone == nil {
		return "UTC"
	}
	return s.Zone.String()
}

// Occurrence is one start or stop of a schedule.
type Occurrence struct {
	Schedule string
	Action   action.Action // action.Start or action.Stop
	// At is when it runs. Local is the wall-clock time the schedule names,
	// "2026-03-29 02:30", which differs from At's when a DST change
	// skipped that minute.
	At    time.Time
	Local string
}

// Key names the occurrence once, however many instants its wall-clock
// time has (a time that happens twice is one occurrence).
func (o Occurrence) Key() string {
	return o.Schedule + "/" + string(o.Action) + "/" + strings.ReplaceAll(o.Local, " ", "T")
}

// Between returns the occurrences whose At is after from and not after to,
// in order (a stop before a start at the same instant).
func (s Schedule) Between(from, to time.Time) []Occurrence {
	if !to.After(from) {
		return nil
	}
	zone := s.Zone
	if zone == nil {
		zone = time.UTC
	}
	// A day before and after: a DST change moves times by hours.
	first := from.In(zone).AddDate(0, 0, -1)
	last := to.In(zone).AddDate(0, 0, 1)
	day := time.Date(first.Year(), first.Month(), first.Day(), 12, 0, 0, 0, zone)
	var out []Occurrence
	for ; !day.After(last); day = day.AddDate(0, 0, 1) {
		if !s.Days.Has(day.Weekday()) {
			continue
		}
		for _, p := range []struct {
			a action.Action
			t TimeOfDay
		}{{action.Stop, s.Stop}, {action.Start, s.Start}} {
			if p.t == None {
				continue
			}
			at := resolve(day.Year(), day.Month(), day.Day(), p.t, zone)
			if at.After(from) && !at.After(to) {
				out = append(out, Occurrence{Schedule: s.Name, Action: p.a, At: at,
					Local: fmt.Sprintf("%04d-%02d-%02d %s", day.Year(), day.Month(), day.Day(), p.t)})
			}
		}
	}
	slices.SortStableFunc(out, func(a, b Occurrence) int { return a.At.Compare(b.At) })
	return out
}

// Next returns the first occurrence after t; every schedule has one within
// a week and a day.
func (s Schedule) Next(t time.Time) (Occurrence, bool) {
	occ := s.Between(t, t.AddDate(0, 0, 8))
	if len(occ) == 0 {
		return Occurrence{}, false
	}
	return occ[0], true
}

// resolve is the instant of a wall-clock time in zone. A time inside a
// daylight-saving gap runs at the first minute after the gap; a time that
// happens twice (clocks set back) runs at the first of its two instants,
// as people read "01:30" on that night: time.Date does not promise which
// it gives.
func resolve(y int, m time.Month, d int, t TimeOfDay, zone *time.Location) time.Time {
	h, mi := int(t)/60, int(t)%60
	at := time.Date(y, m, d, h, mi, 0, 0, zone)
	want := time.Date(y, m, d, h, mi, 0, 0, time.UTC) // the wall clock, as a comparable value
	wall := func(t time.Time) time.Time {
		return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), 0, 0, time.UTC)
	}
	got := wall(at)
	switch start, end := at.ZoneBounds(); {
	case got.Equal(want):
		if !start.IsZero() {
			// Clocks set back at start: the same wall clock may have come
			// earlier, in the period before.
			_, before := start.Add(-time.Second).Zone()
			_, now := at.Zone()
			if earlier := at.Add(-time.Duration(before-now) * time.Second); before > now && earlier.Before(start) && wall(earlier.In(zone)).Equal(want) {
				return earlier
			}
		}
		return at
	case got.After(want) && !start.IsZero():
		// time.Date read the time with the offset before the change, which
		// lands after the gap: the gap ends where this zone period starts.
		return start
	case got.Before(want) && !end.IsZero():
		return end
	}
	return at
}
