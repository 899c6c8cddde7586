package main

import (
	"errors"
	"flag"
	"fmt"
)

// Exit codes, as main reports them: a wrong command line is 2 (as the
// flag package and most Unix tools do), anything else that fails is 1.
const (
	exitFailure = 1
	exitUsage   = 2
)

// usageError is a mistake in the command line, not in the configuration.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usageErrorf(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// exitCode maps what run returned to the process's exit status.
func exitCode(err error) int {
	var u *usageError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &u):
		return exitUsage
	default:
		return exitFailure
	}
}

// flagErr turns --help into a clean exit and any other flag mistake
// into a usage error (the flag package has already printed it and the
// usage).
func flagErr(err error) error {
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return nil
	}
	return &usageError{msg: err.Error()}
}
