// Package graph draws an instance's recent metrics as a PNG sized for
// Slack's image preview: CPU utilisation in percent over time of day in
// UTC, status-check failures marked on it, and network in/out below when
// there is traffic. It is pure: values in, PNG bytes out; it performs no
// I/O and reads no clock.
//
// Drawing is gonum.org/v1/plot's (vgimg renderer, embedded Liberation
// fonts), so no system fonts or C libraries are needed.
package graph

import (
	"bytes"
	"errors"
	"fmt"
	"image/color"
	"math"
	"strconv"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/charlize-app/charlize/ec2ops"
)

// Image size: 2:1 reads well in Slack's preview, which scales images to
// the message width (about 360 px on phones, 500–700 px on desktops); the
// fonts are sized to stay legible at half size.
const (
	Width  = 8 * vg.Inch
	Height = 4 * vg.Inch
	DPI    = 120
	// PixelWidth and PixelHeight are the PNG's size.
	PixelWidth  = 960
	PixelHeight = 480
)

// ErrNoData means there is nothing to draw: CloudWatch had no datapoint in
// the window. Callers say so in words instead of showing an empty image.
var ErrNoData = errors.New("graph: no datapoints")

// Chart is what to draw.
type Chart struct {
	Title      string // the instance's name (or id)
	Start, End time.Time
	// Period is the metrics' period; points further apart than one and a
	// half periods are a gap (the instance was stopped) and are not joined.
	Period            time.Duration
	CPU               []ec2ops.Point // percent
	NetworkIn         []ec2ops.Point // bytes per period
	NetworkOut        []ec2ops.Point // bytes per period
	StatusCheckFailed []ec2ops.Point // 1 where a check failed
}

// Colours: CPU in a blue that stays readable on Slack's dark and light
// themes (the image has its own white background), network in green and
// orange, failures in red.
var (
	cpuColour     = color.RGBA{R: 0x1f, G: 0x6f, B: 0xd1, A: 0xff}
	inColour      = color.RGBA{R: 0x2e, G: 0x9e, B: 0x44, A: 0xff}
	outColour     = color.RGBA{R: 0xe0, G: 0x7b, B: 0x00, A: 0xff}
	failureColour = color.NRGBA{R: 0xd9, G: 0x30, B: 0x25, A: 0x70}
)

// PNG draws c. It returns ErrNoData when c has no CPU datapoint.
func PNG(c Chart) ([]byte, error) {
	if len(c.CPU) == 0 {
		return nil, ErrNoData
	}
	if c.Period <= 0 {
		c.Period = 5 * time.Minute
	}
	cpu, err := cpuPlot(c)
	if err != nil {
		return nil, err
	}
	canvas := vgimg.NewWith(vgimg.UseWH(Width, Height), vgimg.UseDPI(DPI), vgimg.UseBackgroundColor(color.White))
	dc := draw.New(canvas)
	if hasTraffic(c) {
		net, err := networkPlot(c)
		if err != nil {
			return nil, err
		}
		// CPU gets two thirds of the height; the panels share the time axis.
		split := dc.Min.Y + dc.Size().Y/3
		top, bottom := dc, dc
		top.Min.Y, bottom.Max.Y = split, split
		top, bottom = alignX(cpu, top, net, bottom)
		cpu.Draw(top)
		net.Draw(bottom)
	} else {
		cpu.Draw(dc)
	}
	var buf bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: canvas}).WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("graph: encode PNG: %w", err)
	}
	return buf.Bytes(), nil
}

// alignX narrows two stacked canvases so the plots' data areas start and
// end at the same x, whatever the widths of their tick labels.
func alignX(p1 *plot.Plot, c1 draw.Canvas, p2 *plot.Plot, c2 draw.Canvas) (draw.Canvas, draw.Canvas) {
	d1, d2 := p1.DataCanvas(c1), p2.DataCanvas(c2)
	left := max(d1.Min.X-c1.Min.X, d2.Min.X-c2.Min.X)
	right := max(c1.Max.X-d1.Max.X, c2.Max.X-d2.Max.X)
	c1 = draw.Crop(c1, left-(d1.Min.X-c1.Min.X), -(right - (c1.Max.X - d1.Max.X)), 0, 0)
	c2 = draw.Crop(c2, left-(d2.Min.X-c2.Min.X), -(right - (c2.Max.X - d2.Max.X)), 0, 0)
	return c1, c2
}

func hasTraffic(c Chart) bool {
	for _, s := range [][]ec2ops.Point{c.NetworkIn, c.NetworkOut} {
		for _, p := range s {
			if p.Value > 0 {
				return true
			}
		}
	}
	return false
}

// newPlot is a plot with Charlize's fonts and the shared time axis.
func newPlot(c Chart) *plot.Plot {
	p := plot.New()
	p.BackgroundColor = color.White
	p.Title.TextStyle.Font.Size = 16
	p.X.Min, p.X.Max = unix(c.Start), unix(c.End)
	p.X.Tick.Marker = timeTicks{labels: true}
	p.X.Tick.Label.Font.Size = 12
	p.Y.Tick.Label.Font.Size = 12
	p.X.Label.TextStyle.Font.Size = 12
	p.Y.Label.TextStyle.Font.Size = 12
	p.Add(plotter.NewGrid())
	return p
}

func cpuPlot(c Chart) (*plot.Plot, error) {
	p := newPlot(c)
	p.Title.Text = fmt.Sprintf("%s — CPU, last %s", clip(c.Title, 60), window(c.End.Sub(c.Start)))
	p.Y.Label.Text = "CPU %"
	p.Y.Min, p.Y.Max = 0, 100
	p.Y.Tick.Marker = plot.ConstantTicks([]plot.Tick{{Value: 0, Label: "0"}, {Value: 25, Label: "25"}, {Value: 50, Label: "50"}, {Value: 75, Label: "75"}, {Value: 100, Label: "100"}})
	if hasTraffic(c) {
		p.X.Tick.Marker = timeTicks{} // the network panel below labels the shared axis
	} else {
		p.X.Label.Text = "time (UTC)"
	}
	for i, f := range failures(c) {
		p.Add(f)
		if i == 0 {
			p.Legend.Top, p.Legend.Left = true, false
			p.Legend.XOffs, p.Legend.YOffs = -vg.Points(12), -vg.Points(4)
			p.Legend.TextStyle.Font.Size = 11
			p.Legend.Add("status check failed", f)
		}
	}
	for _, seg := range segments(c.CPU, c.Period, 1) {
		l, err := plotter.NewLine(seg)
		if err != nil {
			return nil, fmt.Errorf("graph: CPU line: %w", err)
		}
		l.Color, l.Width = cpuColour, vg.Points(2.5)
		p.Add(l)
	}
	return p, nil
}

func networkPlot(c Chart) (*plot.Plot, error) {
	p := newPlot(c)
	p.X.Label.Text = "time (UTC)"
	peak := 0.0
	for _, s := range [][]ec2ops.Point{c.NetworkIn, c.NetworkOut} {
		for _, pt := range s {
			peak = math.Max(peak, pt.Value/c.Period.Seconds())
		}
	}
	unit, scale := rateUnit(peak)
	p.Y.Label.Text = "net " + unit
	p.Y.Min = 0
	// Head room for the legend, and three ticks: the panel is short.
	p.Y.Max = niceCeil(peak/scale) * 1.6
	p.Y.Tick.Marker = plot.ConstantTicks([]plot.Tick{
		{Value: 0, Label: "0"},
		{Value: p.Y.Max / 2, Label: trimFloat(p.Y.Max / 2)},
		{Value: p.Y.Max, Label: trimFloat(p.Y.Max)},
	})
	p.Legend.Top, p.Legend.Left = true, false
	p.Legend.XOffs, p.Legend.YOffs = -vg.Points(12), -vg.Points(2)
	p.Legend.TextStyle.Font.Size = 11
	for _, s := range []struct {
		name   string
		points []ec2ops.Point
		colour color.Color
	}{{"in", c.NetworkIn, inColour}, {"out", c.NetworkOut, outColour}} {
		for i, seg := range segments(s.points, c.Period, 1/(c.Period.Seconds()*scale)) {
			l, err := plotter.NewLine(seg)
			if err != nil {
				return nil, fmt.Errorf("graph: network line: %w", err)
			}
			l.Color, l.Width = s.colour, vg.Points(2)
			p.Add(l)
			if i == 0 {
				p.Legend.Add(s.name, l)
			}
		}
	}
	return p, nil
}

// failures marks each period with a failed status check as a red band
// over the whole CPU range.
func failures(c Chart) []*plotter.Polygon {
	var out []*plotter.Polygon
	for _, f := range c.StatusCheckFailed {
		if f.Value < 1 {
			continue
		}
		x0, x1 := unix(f.Time), unix(f.Time.Add(c.Period))
		band, err := plotter.NewPolygon(plotter.XYs{{X: x0, Y: 0}, {X: x1, Y: 0}, {X: x1, Y: 100}, {X: x0, Y: 100}})
		if err != nil {
			continue
		}
		band.Color, band.LineStyle.Width = failureColour, 0
		out = append(out, band)
	}
	return out
}

// segments splits points at gaps longer than one and a half periods,
// scaling values by scale.
func segments(points []ec2ops.Point, period time.Duration, scale float64) []plotter.XYs {
	var out []plotter.XYs
	var cur plotter.XYs
	for i, p := range points {
		if i > 0 && p.Time.Sub(points[i-1].Time) > period*3/2 {
			out = append(out, cur)
			cur = nil
		}
		cur = append(cur, plotter.XY{X: unix(p.Time), Y: p.Value * scale})
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	// A single point has no line: draw it as a short dash so it shows.
	for i, s := range out {
		if len(s) == 1 {
			w := period.Seconds() / 4
			out[i] = plotter.XYs{{X: s[0].X - w, Y: s[0].Y}, {X: s[0].X + w, Y: s[0].Y}}
		}
	}
	return out
}

// timeTicks marks the time axis at round times of day (UTC): every 15,
// 30 or 60 minutes, or every few hours, so about six marks fit.
type timeTicks struct{ labels bool }

func (t timeTicks) Ticks(min, max float64) []plot.Tick {
	span := time.Duration(max-min) * time.Second
	step := time.Hour
	for _, s := range []time.Duration{15 * time.Minute, 30 * time.Minute, time.Hour, 2 * time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour, 24 * time.Hour} {
		step = s
		if span/s <= 6 {
			break
		}
	}
	var ticks []plot.Tick
	for at := time.Unix(int64(min), 0).UTC().Truncate(step); float64(at.Unix()) <= max; at = at.Add(step) {
		if float64(at.Unix()) < min {
			continue
		}
		label := ""
		if t.labels {
			label = at.Format("15:04")
		}
		ticks = append(ticks, plot.Tick{Value: float64(at.Unix()), Label: label})
	}
	return ticks
}

// niceCeil rounds v up to 1, 2 or 5 times a power of ten.
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	mag := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*mag {
			return m * mag
		}
	}
	return 10 * mag
}

func trimFloat(v float64) string {
	return strconv.FormatFloat(v, 'g', 3, 64)
}

// rateUnit picks a readable unit for a byte rate of peak bytes/s.
func rateUnit(peak float64) (string, float64) {
	switch {
	case peak >= 1e9:
		return "(GB/s)", 1e9
	case peak >= 1e6:
		return "(MB/s)", 1e6
	case peak >= 1e3:
		return "(KB/s)", 1e3
	}
	return "(B/s)", 1
}

func unix(t time.Time) float64 { return float64(t.Unix()) }

// window names a duration as people say it: "3 h", "90 min".
func window(d time.Duration) string {
	d = d.Round(time.Minute)
	if d >= time.Hour && d%time.Hour == 0 {
		return fmt.Sprintf("%d h", int(d/time.Hour))
	}
	return fmt.Sprintf("%d min", int(d/time.Minute))
}

// clip bounds a title so a long name cannot push the plot off the image.
func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
