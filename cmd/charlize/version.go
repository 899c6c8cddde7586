package main

import (
	"flag"
	"fmt"
	"io"
	"runtime/debug"
	"strings"
)

// version is set by release builds: -ldflags "-X main.version=v1.2.3".
// Without it, the module version or VCS revision from the build info is
// used (go install …@v1.2.3 and go build in a checkout both record one).
var version = ""

// buildInfo is what a binary knows about how it was built.
type buildInfo struct {
	Version   string // v1.2.3, or a revision such as "devel+1a2b3c4d5e6f-dirty"
	GoVersion string
	Revision  string
}

// readBuildInfo combines the -ldflags version with the Go build info.
func readBuildInfo() buildInfo {
	b := buildInfo{Version: version, GoVersion: "unknown"}
	info, ok := debug.ReadBuildInfo()
	if ok {
		b.GoVersion = info.GoVersion
		modified := false
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				b.Revision = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
		if b.Version == "" && info.Main.Version != "" && info.Main.Version != "(devel)" {
			b.Version = info.Main.Version
		}
		if b.Version == "" && b.Revision != "" {
			b.Version = "devel+" + b.Revision[:min(12, len(b.Revision))]
			if modified {
				b.Version += "-dirty"
			}
		}
	}
	if b.Version == "" {
		b.Version = "dev"
	}
	return b
}

// userAgent names Charlize in the calls it makes to Slack and AWS, so
// their logs (and the people reading them) can tell it apart.
func userAgent(b buildInfo) string {
	return "charlize/" + userAgentVersion(b)
}

// userAgentVersion is the version as User-Agent products write it.
func userAgentVersion(b buildInfo) string {
	return strings.TrimPrefix(b.Version, "v")
}

func versionCommand(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("version", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: charlize version\n\nPrints the version, the Go version and the source revision.")
	}
	if err := fs.Parse(args); err != nil {
		return flagErr(err)
	}
	if fs.NArg() > 0 {
		return usageErrorf("version: unexpected argument %q", fs.Arg(0))
	}
	b := readBuildInfo()
	fmt.Fprintf(stdout, "charlize %s (%s", b.Version, b.GoVersion)
	if b.Revision != "" {
		fmt.Fprintf(stdout, ", revision %s", b.Revision)
	}
	fmt.Fprintln(stdout, ")")
	return nil
}
