package main

// The distroless image has no zoneinfo: the binary carries the IANA time
// zone database, so every schedule's zone loads (about 450 KB).
import _ "time/tzdata"
