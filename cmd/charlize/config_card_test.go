package main

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestLoadConfigCard(t *testing.T) {
	base := map[string]string{"SLACK_SIGNING_SECRET": "s"}
	with := func(kv ...string) func(string) string {
		env := map[string]string{}
		for k, v := range base {
			env[k] = v
		}
		for i := 0; i+1 < len(kv); i += 2 {
			env[kv[i]] = kv[i+1]
		}
		return func(k string) string { return env[k] }
	}
	c, err := loadConfig(with())
	if err != nil || c.GraphWindow != 3*time.Hour || len(c.CardTags) != 0 {
		t.Fatalf("defaults: window %s, tags %v, err %v; want 3h, none", c.GraphWindow, c.CardTags, err)
	}
	c, err = loadConfig(with("CHARLIZE_GRAPH_WINDOW", "90m", "CHARLIZE_CARD_TAGS", " cost-center, ,service "))
	if err != nil || c.GraphWindow != 90*time.Minute || !slices.Equal(c.CardTags, []string{"cost-center", "service"}) {
		t.Fatalf("set: window %s, tags %v, err %v", c.GraphWindow, c.CardTags, err)
	}
	for _, tt := range [][]string{
		{"CHARLIZE_GRAPH_WINDOW", "soon"}, {"CHARLIZE_GRAPH_WINDOW", "10m"}, {"CHARLIZE_GRAPH_WINDOW", "48h"},
		{"CHARLIZE_CARD_TAGS", "aws:cloudformation:stack-name"}, {"CHARLIZE_CARD_TAGS", strings.Repeat("k", 129)},
	} {
		if _, err := loadConfig(with(tt...)); err == nil || !strings.Contains(err.Error(), tt[0]) {
			t.Errorf("%s=%s: err = %v, want it named", tt[0], tt[1], err)
		}
	}
}
