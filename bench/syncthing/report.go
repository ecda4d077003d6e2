package main

import (
	"fmt"
	"image/color"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// report is the comparison as Markdown: per workload the median time to
// converge and bytes on the wire of each system, with ranges, and each
// process's peak RSS.
func report(cfg config, results map[string][]result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "### Synk beside Syncthing %s\n\n", syncthingVersion)
	fmt.Fprintf(&b, "`go run -C bench ./syncthing -size %s -runs %d -small %d` on %s (%d cores), %s. "+
		"Medians of %d runs, ranges in brackets. Time: from the change (from the start, for the initial sync) "+
		"until the second device holds it. Wire: bytes through the relays on every link, both ways "+
		"(Synk: both devices to the server; Syncthing: device to device, TLS).\n\n",
		sizeName(cfg.size), cfg.runs, cfg.small, runtime.GOOS+"/"+runtime.GOARCH, runtime.NumCPU(), time.Now().UTC().Format("2006-01-02"), cfg.runs)
	b.WriteString("| workload | Synk time | Syncthing time | Synk wire | Syncthing wire |\n|---|---:|---:|---:|---:|\n")
	for _, w := range workloads {
		name := w
		if w == "small new files" {
			name = fmt.Sprintf("%d small new files", cfg.small)
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", name,
			secs(results["synk"], w), secs(results["syncthing"], w), wire(results["synk"], w), wire(results["syncthing"], w))
	}
	b.WriteString("\nPeak RSS (VmHWM), median of the runs:\n\n| process | MB |\n|---|---:|\n")
	for _, sys := range systems {
		names := map[string]bool{}
		for _, r := range results[sys] {
			for n := range r.RSS {
				names[n] = true
			}
		}
		total := make([]float64, len(results[sys]))
		for _, n := range slices.Sorted(mapKeys(names)) {
			var xs []float64
			for i, r := range results[sys] {
				xs = append(xs, float64(r.RSS[n])/1e6)
				total[i] += float64(r.RSS[n]) / 1e6
			}
			m, lo, hi := median(xs)
			fmt.Fprintf(&b, "| %s | %.0f [%.0f–%.0f] |\n", n, m, lo, hi)
		}
		m, lo, hi := median(total)
		fmt.Fprintf(&b, "| **%s, all processes** | **%.0f** [%.0f–%.0f] |\n", sys, m, lo, hi)
	}
	return b.String()
}

func mapKeys(m map[string]bool) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func values(rs []result, w string, f func(measurement) float64) []float64 {
	var xs []float64
	for _, r := range rs {
		xs = append(xs, f(r.M[w]))
	}
	return xs
}

func secs(rs []result, w string) string {
	m, lo, hi := median(values(rs, w, func(m measurement) float64 { return m.Seconds }))
	return fmt.Sprintf("%.2f s [%.2f–%.2f]", m, lo, hi)
}

func wire(rs []result, w string) string {
	m, lo, hi := median(values(rs, w, func(m measurement) float64 { return float64(m.Wire) }))
	return fmt.Sprintf("%s [%s–%s]", bytesName(m), bytesName(lo), bytesName(hi))
}

func bytesName(n float64) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.2f GB", n/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.1f MB", n/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%.1f kB", n/1e3)
	}
	return fmt.Sprintf("%.0f B", n)
}

func sizeName(n int64) string {
	if n%(1<<30) == 0 {
		return fmt.Sprintf("%dGB", n>>30)
	}
	return fmt.Sprintf("%dMB", n>>20)
}

// charts draws syncthing-time.png and syncthing-wire.png: per workload,
// each system's median relative to the larger of the two (the table has
// the numbers).
func charts(results map[string][]result, dir string) error {
	for _, c := range []struct {
		file, title string
		f           func(measurement) float64
	}{
		{"syncthing-time.png", "time until the other device has it (relative; lower is better)", func(m measurement) float64 { return m.Seconds }},
		{"syncthing-wire.png", "bytes on the wire (relative; lower is better)", func(m measurement) float64 { return float64(m.Wire) }},
	} {
		p := plot.New()
		p.Title.Text = c.title
		p.Y.Max = 1.3
		width := vg.Points(16)
		for i, sys := range systems {
			vals := make(plotter.Values, len(workloads))
			for j, w := range workloads {
				top := 0.0
				for _, o := range systems {
					m, _, _ := median(values(results[o], w, c.f))
					top = max(top, m)
				}
				if m, _, _ := median(values(results[sys], w, c.f)); top > 0 {
					vals[j] = m / top
				}
			}
			bars, err := plotter.NewBarChart(vals, width)
			if err != nil {
				return err
			}
			bars.LineStyle.Width = 0
			bars.Color = []color.Color{color.RGBA{R: 0x2a, G: 0x9d, B: 0x8f, A: 0xff}, color.RGBA{R: 0x8a, G: 0x8a, B: 0x8a, A: 0xff}}[i]
			bars.Offset = width * vg.Length(2*i-1) / 2
			p.Add(bars)
			p.Legend.Add(sys, bars)
		}
		p.Legend.Top = true
		names := []string{"initial", "1 byte", "append", "rename", "small files"}
		p.NominalX(names...)
		if err := p.Save(vg.Length(120*len(workloads))+100, 300, filepath.Join(dir, c.file)); err != nil {
			return err
		}
	}
	return nil
}
