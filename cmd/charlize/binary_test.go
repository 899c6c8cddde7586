package main

import (
	"bytes"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// The linker drops the methods nothing calls only while no reachable code
// looks methods up by name (text/template's and html/template's Execute,
// reflect's Method and MethodByName): one such call keeps every exported
// method of every type. That call, in the pages' templates, made the binary
// 95 MB instead of 38 and the idle server 50 MB resident instead of 29,
// nearly all of it encoders of AWS operations Charlize never calls.
func TestBinaryLetsTheLinkerDropUncalledMethods(t *testing.T) {
	if testing.Short() {
		t.Skip("links the binary")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command:", err)
	}
	var out, errs bytes.Buffer
	build := exec.Command(goTool, "build", "-ldflags=-dumpdep", "-o", os.DevNull, ".")
	build.Stdout, build.Stderr = &out, &errs
	if err := build.Run(); err != nil {
		t.Fatalf("go build: %v\n%s", err, errs.Bytes())
	}
	// Lines are "from -> to", either marked " <ReflectMethod>" when it
	// looks methods up by name.
	var callers []string
	for line := range strings.Lines(errs.String()) {
		for _, fn := range strings.Split(strings.TrimSpace(line), " -> ") {
			if name, ok := strings.CutSuffix(fn, " <ReflectMethod>"); ok && !strings.HasPrefix(name, "reflect.") &&
				!strings.HasPrefix(name, "type:reflect.") && !slices.Contains(callers, name) {
				callers = append(callers, name)
			}
		}
	}
	if len(errs.String()) < 1000 {
		t.Fatalf("go build -ldflags=-dumpdep printed no dependencies; the check cannot tell:\n%s", errs.Bytes())
	}
	if len(callers) > 0 {
		t.Errorf("these look methods up by name, so the linker keeps every method (see handlers/htmlpage): %s",
			strings.Join(callers, ", "))
	}
}
