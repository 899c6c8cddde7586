package app

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/charlize-app/charlize/blocks"
	"github.com/charlize-app/charlize/blocks/graph"
	"github.com/charlize-app/charlize/ec2ops"
	"github.com/charlize-app/charlize/handlers/reqctx"
	"github.com/charlize-app/charlize/handlers/slackclient"
)

// The card's graph: CloudWatch metrics drawn as a PNG, uploaded to Slack
// and shown in the card's image block. A card never waits for it: the
// card is answered first and edited when the graph is ready. Graphs are
// kept per workspace and instance for a few minutes, so ten people opening
// one card make one GetMetricData and one upload.

// graphs caches graph results and runs one job per key at a time.
type graphs struct {
	d            *Dispatcher
	window       time.Duration
	ttl, failTTL time.Duration

	mu      sync.Mutex
	entries map[string]*graphEntry
}

// graphEntry is one instance's graph: being made (done open) or made.
type graphEntry struct {
	done    chan struct{}
	view    blocks.GraphView // set before done closes
	expires time.Time

	mu      sync.Mutex
	waiters []func(context.Context, blocks.GraphView)
}

// graphFailTTL is how long a graph that could not be made is remembered:
// briefly, so a missing permission fixed meanwhile shows soon.
const graphFailTTL = time.Minute

func newGraphs(d *Dispatcher, window, ttl time.Duration) *graphs {
	return &graphs{d: d, window: window, ttl: ttl, failTTL: min(ttl, graphFailTTL), entries: map[string]*graphEntry{}}
}

func graphKey(team slackclient.Team, inst ec2ops.Instance) string {
	// Uploaded files belong to a workspace; the key keeps them there.
	return team.ID + "/" + instanceKey(inst)
}

// get returns inst's graph entry, starting its job when there is no fresh
// one. It returns nil when the graph cannot be made now at all (no worker
// free), which the card shows as no graph.
func (g *graphs) get(ctx context.Context, team slackclient.Team, inst ec2ops.Instance) *graphEntry {
	if g == nil {
		return nil
	}
	key := graphKey(team, inst)
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.d.now()
	if e, ok := g.entries[key]; ok && (!e.ready() || now.Before(e.expires)) {
		return e
	}
	for k, e := range g.entries {
		if e.ready() && !now.Before(e.expires) {
			delete(g.entries, k)
		}
	}
	e := &graphEntry{done: make(chan struct{})}
	if err := g.d.workers.Go(ctx, func(ctx context.Context) { g.make(ctx, team, inst, e) }); err != nil {
		return nil
	}
	g.entries[key] = e
	return e
}

// ready reports whether the entry's graph is made.
func (e *graphEntry) ready() bool {
	select {
	case <-e.done:
		return true
	default:
		return false
	}
}

// now returns the graph if it is made.
func (e *graphEntry) now() (blocks.GraphView, bool) {
	if e == nil {
		return blocks.GraphView{Missing: "No CPU graph right now: Charlize is busy."}, true
	}
	if !e.ready() {
		return blocks.GraphView{Pending: true}, false
	}
	return e.view, true
}

// then calls fn with the graph once it is made: at once (with ctx) when
// it is, else later on a job of its own (with that job's context).
func (e *graphEntry) then(ctx context.Context, fn func(context.Context, blocks.GraphView)) {
	e.mu.Lock()
	if !e.ready() {
		e.waiters = append(e.waiters, fn)
		e.mu.Unlock()
		return
	}
	e.mu.Unlock()
	fn(ctx, e.view)
}

// finish records the graph and wakes its waiters.
func (e *graphEntry) finish(v blocks.GraphView, expires time.Time) []func(context.Context, blocks.GraphView) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.view, e.expires = v, expires
	close(e.done)
	w := e.waiters
	e.waiters = nil
	return w
}

// make reads the metrics, draws and uploads the graph, and hands the result
// to whoever waits for it.
func (g *graphs) make(ctx context.Context, team slackclient.Team, inst ec2ops.Instance, e *graphEntry) {
	start := g.d.now()
	v, ok := g.draw(ctx, team, inst)
	ttl := g.ttl
	if !ok {
		ttl = g.failTTL
	}
	g.d.log.DebugContext(ctx, "card graph", "request_id", reqctx.ID(ctx), "instance", inst.ID, "uploaded", v.FileID != "", "elapsed", g.d.now().Sub(start))
	for _, w := range e.finish(v, g.d.now().Add(ttl)) {
		g.d.soonOrNow(ctx, func(ctx context.Context) { w(ctx, v) })
	}
}

// draw makes the graph; ok is false when it could not be made (nothing is
// cached long for that).
func (g *graphs) draw(ctx context.Context, team slackclient.Team, inst ec2ops.Instance) (blocks.GraphView, bool) {
	name := displayName(inst)
	m, err := g.d.fleet.Metrics(ctx, inst, g.window)
	if err != nil {
		return blocks.GraphView{Missing: "No CPU graph: " + g.d.failureText(ctx, "card graph", err).String()}, false
	}
	span := windowText(g.window)
	png, err := graph.PNG(graph.Chart{
		Title: name, Start: m.Start, End: m.End, Period: m.Period,
		CPU: m.CPU, NetworkIn: m.NetworkIn, NetworkOut: m.NetworkOut, StatusCheckFailed: m.StatusCheckFailed,
	})
	if errors.Is(err, graph.ErrNoData) {
		// A new instance, one stopped all along, or no basic monitoring.
		return blocks.GraphView{Missing: fmt.Sprintf("No CPU graph: CloudWatch has no data for %s in the last %s.", name, span)}, true
	}
	if err != nil {
		return blocks.GraphView{Missing: "No CPU graph: " + g.d.failureText(ctx, "card graph", err).String()}, false
	}
	alt := altText(name, span, m.CPU)
	api, err := g.d.clients.Client(ctx, team)
	if err == nil {
		var id string
		id, err = slackclient.UploadFile(ctx, api, slackclient.Upload{
			Name: inst.ID + "-cpu.png", Title: name + " CPU, last " + span, AltText: alt, Data: png,
		})
		if err == nil {
			return blocks.GraphView{FileID: id, Title: "CPU, last " + span + " · times in UTC", AltText: alt}, true
		}
		err = &uploadError{err: err}
	}
	return blocks.GraphView{Missing: "No CPU graph: " + g.d.failureText(ctx, "card graph upload", err).String()}, false
}

// uploadError is a graph Slack would not take; missingScope says the app
// lacks files:write.
type uploadError struct{ err error }

func (e *uploadError) Error() string { return "upload graph: " + e.err.Error() }
func (e *uploadError) Unwrap() error { return e.err }

// missingScope reports whether Slack refused for lack of a scope.
func (e *uploadError) missingScope() bool {
	switch slackclient.ErrorCode(e.err) {
	case "missing_scope", "not_allowed_token_type", "no_permission":
		return true
	}
	return false
}

// altText describes the graph in words, for screen readers and for
// clients that do not show images.
func altText(name, span string, cpu []ec2ops.Point) string {
	sum, peak := 0.0, 0.0
	for _, p := range cpu {
		sum += p.Value
		peak = math.Max(peak, p.Value)
	}
	return fmt.Sprintf("CPU utilisation of %s over the last %s: average %.0f%%, peak %.0f%%, latest %.0f%%.",
		name, span, sum/float64(len(cpu)), peak, cpu[len(cpu)-1].Value)
}

// windowText is a window as people say it: "3 h", "90 min".
func windowText(d time.Duration) string {
	if d >= time.Hour && d%time.Hour == 0 {
		return fmt.Sprintf("%d h", int(d/time.Hour))
	}
	return fmt.Sprintf("%d min", int(d.Round(time.Minute)/time.Minute))
}

// soonOrNow runs job on a worker, or right here when none can take it.
func (d *Dispatcher) soonOrNow(ctx context.Context, job func(context.Context)) {
	if err := d.workers.Go(ctx, job); err != nil {
		job(ctx)
	}
}
