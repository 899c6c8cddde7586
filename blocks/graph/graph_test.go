package graph_test

import (
	"bytes"
	"errors"
	"flag"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/charlize-app/charlize/blocks/graph"
	"github.com/charlize-app/charlize/ec2ops"
)

var update = flag.Bool("update", false, "rewrite the golden PNGs")

var end = time.Date(2025, 6, 2, 15, 0, 0, 0, time.UTC)

// chart is three hours of 5-minute points: CPU rising and falling, steady
// traffic, a gap while the instance was stopped, one failed status check.
func chart(title string) graph.Chart {
	c := graph.Chart{Title: title, Start: end.Add(-3 * time.Hour), End: end, Period: 5 * time.Minute}
	for t := c.Start; t.Before(end); t = t.Add(c.Period) {
		if t.After(end.Add(-100*time.Minute)) && t.Before(end.Add(-80*time.Minute)) {
			continue // stopped
		}
		x := t.Sub(c.Start).Hours()
		c.CPU = append(c.CPU, ec2ops.Point{Time: t, Value: 40 + 30*math.Sin(x*2)})
		c.NetworkIn = append(c.NetworkIn, ec2ops.Point{Time: t, Value: 3e8 + 1e8*math.Cos(x)})
		c.NetworkOut = append(c.NetworkOut, ec2ops.Point{Time: t, Value: 1e8})
		failed := 0.0
		if t.Equal(end.Add(-30 * time.Minute)) {
			failed = 1
		}
		c.StatusCheckFailed = append(c.StatusCheckFailed, ec2ops.Point{Time: t, Value: failed})
	}
	return c
}

func mustPNG(t *testing.T, c graph.Chart) image.Image {
	t.Helper()
	b, err := graph.PNG(c)
	if err != nil {
		t.Fatalf("PNG = %v", err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("the PNG does not decode: %v", err)
	}
	return img
}

// count counts the pixels in r for which f holds.
func count(img image.Image, r image.Rectangle, f func(color.RGBA) bool) int {
	n := 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if f(color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)) {
				n++
			}
		}
	}
	return n
}

func near(a, b color.RGBA) bool {
	d := func(x, y uint8) int { return int(x) - int(y) }
	return abs(d(a.R, b.R))+abs(d(a.G, b.G))+abs(d(a.B, b.B)) < 60
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

func dark(c color.RGBA) bool { return int(c.R)+int(c.G)+int(c.B) < 200 }

var (
	cpuBlue  = color.RGBA{R: 0x1f, G: 0x6f, B: 0xd1, A: 0xff}
	netGreen = color.RGBA{R: 0x2e, G: 0x9e, B: 0x44, A: 0xff}
)

func TestPNG(t *testing.T) {
	img := mustPNG(t, chart("web-1"))
	if got := img.Bounds().Size(); got.X != graph.PixelWidth || got.Y != graph.PixelHeight {
		t.Fatalf("size = %v, want %dx%d", got, graph.PixelWidth, graph.PixelHeight)
	}
	w, h := graph.PixelWidth, graph.PixelHeight
	titleStrip := image.Rect(0, 0, w, h/12)
	cpuArea := image.Rect(w/10, h/12, w*95/100, h*55/100)
	netArea := image.Rect(w/10, h*70/100, w*95/100, h*92/100)
	if n := count(img, titleStrip, dark); n < 300 {
		t.Errorf("title strip has %d dark pixels, want the title's text", n)
	}
	if n := count(img, cpuArea, func(c color.RGBA) bool { return near(c, cpuBlue) }); n < 1500 {
		t.Errorf("CPU area has %d blue pixels, want the CPU line", n)
	}
	if n := count(img, netArea, func(c color.RGBA) bool { return near(c, netGreen) }); n < 500 {
		t.Errorf("network area has %d green pixels, want the network-in line", n)
	}
	if n := count(img, cpuArea, func(c color.RGBA) bool { return c.R > 200 && c.G < 215 && c.B < 215 && c.R-c.G > 25 }); n < 200 {
		t.Errorf("CPU area has %d reddish pixels, want the failed status check's band", n)
	}

	// The title is what differs between two instances' graphs.
	other := mustPNG(t, chart("db-primary-7"))
	if count(img, titleStrip, dark) == count(other, titleStrip, dark) && same(img, other, titleStrip) {
		t.Error("the title strip does not change with the instance's name")
	}
	if !same(img, other, cpuArea) {
		t.Error("the plot changed with the title")
	}

	golden := filepath.Join("testdata", "cpu.golden.png")
	b, _ := graph.PNG(chart("web-1"))
	if *update {
		if err := os.WriteFile(golden, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./graph -update)", err)
	}
	wantImg, err := png.Decode(bytes.NewReader(want))
	if err != nil {
		t.Fatal(err)
	}
	// Compared as pixels, not bytes: the encoder may change, the picture must not.
	if diff := differing(img, wantImg); diff > img.Bounds().Dx()*img.Bounds().Dy()/200 {
		t.Errorf("%d pixels differ from %s (run go test ./graph -update after checking the picture)", diff, golden)
	}
}

func same(a, b image.Image, r image.Rectangle) bool {
	return differing(subImage(a, r), subImage(b, r)) == 0
}

func subImage(img image.Image, r image.Rectangle) image.Image {
	return img.(interface {
		SubImage(image.Rectangle) image.Image
	}).SubImage(r)
}

func differing(a, b image.Image) int {
	if a.Bounds() != b.Bounds() {
		return a.Bounds().Dx() * a.Bounds().Dy()
	}
	n := 0
	r := a.Bounds()
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if color.RGBAModel.Convert(a.At(x, y)) != color.RGBAModel.Convert(b.At(x, y)) {
				n++
			}
		}
	}
	return n
}

func TestPNGWithoutTraffic(t *testing.T) {
	c := chart("web-1")
	c.NetworkIn, c.NetworkOut = nil, nil
	img := mustPNG(t, c)
	w, h := graph.PixelWidth, graph.PixelHeight
	// The CPU plot takes the whole height: its line reaches the lower half.
	if n := count(img, image.Rect(w/10, h*60/100, w*95/100, h*85/100), func(c color.RGBA) bool { return near(c, cpuBlue) }); n < 200 {
		t.Errorf("lower half has %d blue pixels, want the CPU plot to fill the image", n)
	}
}

func TestPNGNoData(t *testing.T) {
	for name, c := range map[string]graph.Chart{
		"nothing":    {Title: "new-1", Start: end.Add(-3 * time.Hour), End: end},
		"no cpu":     {Title: "new-1", Start: end.Add(-3 * time.Hour), End: end, NetworkIn: []ec2ops.Point{{Time: end, Value: 1}}},
		"zero value": {},
	} {
		if b, err := graph.PNG(c); !errors.Is(err, graph.ErrNoData) || b != nil {
			t.Errorf("%s: PNG = %d bytes, %v; want ErrNoData and no image", name, len(b), err)
		}
	}
	// One point is still a picture, not a broken one.
	one := graph.Chart{Title: "new-1", Start: end.Add(-3 * time.Hour), End: end, CPU: []ec2ops.Point{{Time: end.Add(-5 * time.Minute), Value: 12}}}
	mustPNG(t, one)
}

// BenchmarkPNG measures drawing and encoding one 3-hour card graph.
func BenchmarkPNG(b *testing.B) {
	c := chart("web-1")
	for b.Loop() {
		if _, err := graph.PNG(c); err != nil {
			b.Fatal(err)
		}
	}
}
