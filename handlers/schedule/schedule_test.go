package schedule_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/charlize-app/charlize/ec2ops/action"
	"github.com/charlize-app/charlize/handlers/schedule"
)

func mustZone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func mustParse(t *testing.T, name, text string) schedule.Schedule {
	t.Helper()
	s, err := schedule.Parse(name, text, time.UTC)
	if err != nil {
		t.Fatalf("Parse(%q, %q) = %v", name, text, err)
	}
	return s
}

// occurrences renders what Between returns as "stop 2026-06-01T19:00+02:00"
// lines in the schedule's zone, the way a person checks them.
func occurrences(s schedule.Schedule, from, to time.Time) []string {
	var out []string
	for _, o := range s.Between(from, to) {
		out = append(out, string(o.Action)+" "+o.At.In(s.Zone).Format("Mon 2006-01-02T15:04-07:00"))
	}
	return out
}

func TestParse(t *testing.T) {
	tests := []struct {
		text, want string
	}{
		{"mon-fri 08:00-19:00 Europe/Warsaw", "mon-fri 08:00-19:00 Europe/Warsaw"},
		{"daily -19:00", "daily -19:00 UTC"},
		{"weekdays 8:00- America/New_York", "mon-fri 08:00- America/New_York"},
		{"sat,sun 10:00-12:00", "sat,sun 10:00-12:00 UTC"},
		{"MON,Wed-fri 07:30-18:45 UTC", "mon,wed-fri 07:30-18:45 UTC"},
		{"mon,tue 00:00-23:59", "mon,tue 00:00-23:59 UTC"},
		{"weekends -01:00", "sat,sun -01:00 UTC"},
	}
	for _, tc := range tests {
		t.Run(tc.text, func(t *testing.T) {
			if got := mustParse(t, "office-hours", tc.text).String(); got != tc.want {
				t.Errorf("Parse(%q).String() = %q, want %q", tc.text, got, tc.want)
			}
		})
	}
}

func TestParseRefusesWithTheField(t *testing.T) {
	tests := []struct {
		name, text, field, says string
	}{
		{"office-hours", "mon-fry 08:00-19:00", "days", `"mon-fry" is not a day name`},
		{"office-hours", "1-5 08:00-19:00", "days", `"1-5"`},
		{"office-hours", "* 08:00-19:00", "days", `"*"`},
		{"office-hours", "fri-mon 08:00-19:00", "days", `"fri-mon"`},
		{"office-hours", "mon-fri 8-19", "start", `"8" is not a time of day`},
		{"office-hours", "mon-fri 08:00-24:00", "stop", `"24:00"`},
		{"office-hours", "mon-fri 08:00", "times", "<start>-<stop>"},
		{"office-hours", "mon-fri -", "times", "give a start, a stop, or both"},
		{"office-hours", "mon-fri 08:00-08:00", "times", "the same time"},
		{"office-hours", "mon-fri 08:00-19:00 Europe/Warsw", "time zone", `"Europe/Warsw" is not an IANA time zone`},
		{"office-hours", "mon-fri 08:00-19:00 Local", "time zone", `"Local"`},
		{"Office Hours", "mon-fri 08:00-19:00", "name", "lower-case"},
		{"office-hours", "mon-fri", "schedule", "days, times"},
	}
	for _, tc := range tests {
		t.Run(tc.text, func(t *testing.T) {
			_, err := schedule.Parse(tc.name, tc.text, time.UTC)
			e, ok := errors.AsType[*schedule.Error](err)
			if !ok {
				t.Fatalf("Parse(%q) = %v, want a *schedule.Error", tc.text, err)
			}
			if e.Field != tc.field || !strings.Contains(e.Problem, tc.says) {
				t.Errorf("Parse(%q) = field %q problem %q, want field %q saying %q", tc.text, e.Field, e.Problem, tc.field, tc.says)
			}
			if msg := e.UserMessage(); !strings.Contains(msg, schedule.Example) {
				t.Errorf("UserMessage() = %q, want the example %q", msg, schedule.Example)
			}
		})
	}
}

func TestBetweenMonFri(t *testing.T) {
	warsaw := mustZone(t, "Europe/Warsaw")
	s := mustParse(t, "office-hours", "mon-fri 08:00-19:00 Europe/Warsaw")
	// Friday noon to Tuesday noon: Friday's stop, nothing at the weekend,
	// Monday's start and stop, Tuesday's start.
	from := time.Date(2026, 6, 5, 12, 0, 0, 0, warsaw)
	got := occurrences(s, from, from.AddDate(0, 0, 4))
	want := []string{
		"stop Fri 2026-06-05T19:00+02:00",
		"start Mon 2026-06-08T08:00+02:00",
		"stop Mon 2026-06-08T19:00+02:00",
		"start Tue 2026-06-09T08:00+02:00",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("Between = \n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestBetweenStopOnlyAndStartOnly(t *testing.T) {
	from := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC) // a Monday
	tests := []struct {
		text string
		want []string
	}{
		{"daily -19:00", []string{"stop Mon 2026-06-01T19:00+00:00", "stop Tue 2026-06-02T19:00+00:00"}},
		{"daily 08:00-", []string{"start Mon 2026-06-01T08:00+00:00", "start Tue 2026-06-02T08:00+00:00"}},
		{"sat,sun -19:00", nil},
	}
	for _, tc := range tests {
		t.Run(tc.text, func(t *testing.T) {
			got := occurrences(mustParse(t, "s", tc.text), from, from.AddDate(0, 0, 2))
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("Between = %q, want %q", got, tc.want)
			}
		})
	}
}

// A time inside a spring-forward gap runs at the first minute after it; a
// time that happens twice in an autumn fall-back runs once, at the first
// of its two instants; in two zones.
func TestBetweenDST(t *testing.T) {
	tests := []struct {
		name, text string
		day        time.Time // noon on the day before the change, UTC
		want       []string
		local      string // the wall-clock time the occurrence keeps
	}{
		{"Warsaw gap", "daily 02:30- Europe/Warsaw", time.Date(2026, 3, 28, 12, 0, 0, 0, time.UTC),
			[]string{"start Sun 2026-03-29T03:00+02:00"}, "2026-03-29 02:30"},
		{"Warsaw gap edge", "daily 02:00- Europe/Warsaw", time.Date(2026, 3, 28, 12, 0, 0, 0, time.UTC),
			[]string{"start Sun 2026-03-29T03:00+02:00"}, "2026-03-29 02:00"},
		{"Warsaw after the gap", "daily 03:00- Europe/Warsaw", time.Date(2026, 3, 28, 12, 0, 0, 0, time.UTC),
			[]string{"start Sun 2026-03-29T03:00+02:00"}, "2026-03-29 03:00"},
		{"Warsaw overlap", "daily -02:30 Europe/Warsaw", time.Date(2026, 10, 24, 12, 0, 0, 0, time.UTC),
			[]string{"stop Sun 2026-10-25T02:30+02:00"}, "2026-10-25 02:30"},
		{"New York gap", "daily 02:15-10:00 America/New_York", time.Date(2026, 3, 7, 16, 0, 0, 0, time.UTC),
			[]string{"start Sun 2026-03-08T03:00-04:00", "stop Sun 2026-03-08T10:00-04:00"}, "2026-03-08 02:15"},
		{"New York overlap", "daily -01:30 America/New_York", time.Date(2026, 10, 31, 12, 0, 0, 0, time.UTC),
			[]string{"stop Sun 2026-11-01T01:30-04:00"}, "2026-11-01 01:30"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := mustParse(t, "dst", tc.text)
			occ := s.Between(tc.day, tc.day.Add(24*time.Hour))
			if len(occ) == 0 || occ[0].Local != tc.local {
				t.Fatalf("Between(%s) = %+v, want one occurrence at local %s", tc.day, occ, tc.local)
			}
			got := occurrences(s, tc.day, tc.day.Add(24*time.Hour))
			if tc.want == nil {
				// Happens twice on the wall clock: once here, at either instant.
				if len(occ) != 1 {
					t.Fatalf("Between = %q, want exactly one occurrence", got)
				}
				wall := occ[0].At.In(s.Zone).Format("15:04")
				if wall != tc.local[11:] {
					t.Errorf("occurrence at wall clock %s, want %s", wall, tc.local[11:])
				}
				return
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("Between = %q, want %q", got, tc.want)
			}
		})
	}
}

// Walking through the overlap hour in small steps, as the scheduler does
// tick by tick, still yields the occurrence once.
func TestBetweenOverlapStepByStep(t *testing.T) {
	s := mustParse(t, "dst", "daily -02:30 Europe/Warsaw")
	from := time.Date(2026, 10, 24, 23, 0, 0, 0, time.UTC)
	seen := map[string]int{}
	for at := from; at.Before(from.Add(4 * time.Hour)); at = at.Add(time.Minute) {
		for _, o := range s.Between(at, at.Add(time.Minute)) {
			seen[o.Key()]++
		}
	}
	if len(seen) != 1 || seen["dst/stop/2026-10-25T02:30"] != 1 {
		t.Errorf("occurrences over the fall-back night = %v, want dst/stop/2026-10-25T02:30 once", seen)
	}
}

func TestNext(t *testing.T) {
	s := mustParse(t, "office-hours", "mon-fri 08:00-19:00 Europe/Warsaw")
	sat := time.Date(2026, 6, 6, 10, 0, 0, 0, time.UTC)
	o, ok := s.Next(sat)
	if !ok || o.Action != action.Start || o.Local != "2026-06-08 08:00" {
		t.Errorf("Next(%s) = %+v, %v, want Monday's 08:00 start", sat, o, ok)
	}
}

func TestParseFile(t *testing.T) {
	data := []byte(`schedules:
  - name: office-hours
    days: mon-fri
    start: "08:00"
    stop: "19:00"
    time_zone: Europe/Warsaw
  - name: nightly
    days: daily
    stop: "22:00"
`)
	got, err := schedule.ParseFile(data, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].String() != "mon-fri 08:00-19:00 Europe/Warsaw" || got[1].String() != "daily -22:00 UTC" {
		t.Errorf("ParseFile = %v", got)
	}
}

func TestParseFileNamesScheduleAndField(t *testing.T) {
	data := []byte(`schedules:
  - name: office-hours
    days: mon-fry
    stop: "19:00"
  - name: late
    days: daily
    stop: "19:00"
    timezone: UTC
  - name: office-hours
    days: daily
    stop: "20:00"
  - name: zoned
    days: daily
    stop: "20:00"
    time_zone: Mars/Olympus
`)
	_, err := schedule.ParseFile(data, time.UTC)
	if err == nil {
		t.Fatal("ParseFile accepted a bad file")
	}
	for _, want := range []string{
		`line 3: schedule office-hours: days: "mon-fry" is not a day name`,
		`line 8: schedule late: timezone: unknown field`,
		`line 9: schedule office-hours: name: duplicate name (also at line 2)`,
		`line 15: schedule zoned: time_zone: "Mars/Olympus" is not an IANA time zone`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("ParseFile error = %v\nwant it to say %q", err, want)
		}
	}
}
