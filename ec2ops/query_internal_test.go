package ec2ops

import "testing"

func TestQueryMatch(t *testing.T) {
	inst := Instance{ID: "i-0123abcd", State: "running", Type: "t3.micro",
		Tags: map[string]string{"Name": "web-1", "env": "prod", "team": "web"}}
	unnamed := Instance{ID: "i-4567ef01", State: "stopped", Type: "m5.large", Tags: map[string]string{}}
	for _, tt := range []struct {
		name string
		q    Query
		inst Instance
		want bool
	}{
		{"empty", Query{}, inst, true},
		{"id", Query{IDs: []string{"i-4567ef01"}}, inst, false},
		{"state alternatives", Query{States: []string{"stopped", "running"}}, inst, true},
		{"type pattern", Query{Types: []string{"t3.*"}}, inst, true},
		{"name pattern", Query{Names: []string{"db*", "web*"}}, inst, true},
		{"star needs a Name tag", Query{Names: []string{"*"}}, unnamed, false},
		{"same tag key ORs", Query{Tags: []Tag{{"env", "dev"}, {"env", "prod"}}}, inst, true},
		{"different tag keys AND", Query{Tags: []Tag{{"env", "prod"}, {"team", "data"}}}, inst, false},
		{"tag present", Query{Tags: []Tag{{"team", "*"}}}, inst, true},
		{"tag absent", Query{Tags: []Tag{{"team", "*"}}}, unnamed, false},
		{"fields AND", Query{States: []string{"running"}, Types: []string{"m5.*"}}, inst, false},
	} {
		if got := tt.q.match(tt.inst); got != tt.want {
			t.Errorf("%s: Query%+v.match(%s) = %v, want %v", tt.name, tt.q, tt.inst.ID, got, tt.want)
		}
	}
}

func TestFilters(t *testing.T) {
	q := Query{Names: []string{`a\b*`}, Tags: []Tag{{"Name", "x"}, {"env", "a"}, {"env", "b"}}, States: []string{"running"}}
	got := filters(&Tag{"charlize", "man*aged"}, q)
	want := map[string][]string{
		"tag:charlize":        {`man\*aged`},
		"instance-state-name": {"running"},
		"tag:Name":            {`a\\b*`}, // the tag:Name=x term is left to client-side matching
		"tag:env":             {"a", "b"},
	}
	if len(got) != len(want) {
		t.Fatalf("filters = %d filters, want %d", len(got), len(want))
	}
	for _, f := range got {
		w, ok := want[*f.Name]
		if !ok || len(w) != len(f.Values) {
			t.Errorf("filter %s = %q, want %q", *f.Name, f.Values, w)
			continue
		}
		for i := range w {
			if w[i] != f.Values[i] {
				t.Errorf("filter %s = %q, want %q", *f.Name, f.Values, w)
			}
		}
	}
}
