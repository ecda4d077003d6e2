package main

import (
	"encoding/json"
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// report gathers every run's results and renders medians and ratios.
type report struct {
	sc      *scale
	runs    int
	started time.Time
	order   []*workload
	results map[string]map[string][]result // workload → system → runs
}

func newReport(sc *scale, runs int) *report {
	return &report{sc: sc, runs: runs, started: time.Now(), results: make(map[string]map[string][]result)}
}

func (rep *report) add(w *workload, sys string, r result) {
	if rep.results[w.name] == nil {
		rep.results[w.name] = make(map[string][]result)
		rep.order = append(rep.order, w)
	}
	rep.results[w.name][sys] = append(rep.results[w.name][sys], r)
}

// median returns the median of metric key over sys's runs of w, and
// whether there is one.
func (rep *report) median(w *workload, sys, key string) (float64, bool) {
	var vs []float64
	for _, r := range rep.results[w.name][sys] {
		if v, ok := r[key]; ok {
			vs = append(vs, v)
		}
	}
	if len(vs) == 0 {
		return 0, false
	}
	slices.Sort(vs)
	if len(vs)%2 == 1 {
		return vs[len(vs)/2], true
	}
	return (vs[len(vs)/2-1] + vs[len(vs)/2]) / 2, true
}

var systemOrder = []string{"synk", "centrifuge", "hub"}

// table renders w's medians with Synk's ratio to each other system, as
// markdown.
func (rep *report) table(w *workload) string {
	var present []string
	for _, s := range systemOrder {
		if len(rep.results[w.name][s]) > 0 {
			present = append(present, s)
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\n#### %s\n\n| metric |", w.title)
	for _, s := range present {
		fmt.Fprintf(&b, " %s |", s)
	}
	for _, s := range present[1:] {
		fmt.Fprintf(&b, " synk ÷ %s |", s)
	}
	b.WriteString("\n|---|")
	b.WriteString(strings.Repeat("---:|", 2*len(present)-1))
	b.WriteString("\n")
	for _, m := range w.metrics {
		fmt.Fprintf(&b, "| %s |", m.title)
		for _, s := range present {
			if v, ok := rep.median(w, s, m.key); ok {
				fmt.Fprintf(&b, " %s |", num(v))
			} else {
				b.WriteString(" – |")
			}
		}
		synk, ok := rep.median(w, "synk", m.key)
		for _, s := range present[1:] {
			v, ok2 := rep.median(w, s, m.key)
			if !ok || !ok2 || v == 0 {
				b.WriteString(" – |")
				continue
			}
			fmt.Fprintf(&b, " %.2f× |", synk/v)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// brief is one run's numbers on a line.
func (r result) brief(w *workload) string {
	var parts []string
	for _, m := range w.metrics {
		if v, ok := r[m.key]; ok {
			parts = append(parts, m.title+" "+num(v))
		}
	}
	return strings.Join(parts, ", ")
}

// num formats a number with three significant digits and thousands
// separators.
func num(v float64) string {
	switch a := math.Abs(v); {
	case a == 0:
		return "0"
	case a >= 1000:
		s := fmt.Sprintf("%.0f", v)
		for i := len(s) - 3; i > 0 && s[i-1] != '-'; i -= 3 {
			s = s[:i] + "," + s[i:]
		}
		return s
	case a >= 100:
		return fmt.Sprintf("%.0f", v)
	case a >= 10:
		return fmt.Sprintf("%.1f", v)
	case a >= 1:
		return fmt.Sprintf("%.2f", v)
	}
	return fmt.Sprintf("%.3g", v)
}

// machine describes where the numbers come from.
func machine() string {
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	mem := ""
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb int64
		fmt.Sscanf(strings.SplitN(string(b), "\n", 2)[0], "MemTotal: %d kB", &kb)
		mem = fmt.Sprintf(", %d GiB", (kb+(1<<19))>>20)
	}
	return fmt.Sprintf("%s, %d CPUs%s, %s/%s, %s", model, runtime.NumCPU(), mem, runtime.GOOS, runtime.GOARCH, runtime.Version())
}

// write saves results.md (the tables), results.json (every run) and one
// PNG chart per workload in dir. Workloads of an earlier report in dir
// that this run did not repeat are kept.
func (rep *report) write(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	rep.merge(filepath.Join(dir, "results.json"))
	var md strings.Builder
	fmt.Fprintf(&md, "<!-- written by go run -C bench ./compare; do not edit -->\n\nMachine: %s. %s, %d runs per load and system, medians.\n",
		machine(), rep.started.UTC().Format("2006-01-02"), rep.runs)
	for _, w := range rep.order {
		md.WriteString(rep.table(w))
		chart := w.name + ".png"
		if err := rep.chart(w, filepath.Join(dir, chart)); err != nil {
			return err
		}
		fmt.Fprintf(&md, "\n![%s](%s)\n", w.title, chart)
	}
	if err := os.WriteFile(filepath.Join(dir, "results.md"), []byte(md.String()), 0o644); err != nil {
		return err
	}
	b, err := json.MarshalIndent(map[string]any{"machine": machine(), "date": rep.started.UTC(), "results": rep.results}, "", " ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "results.json"), b, 0o644)
}

// chart draws w's metrics as groups of bars, one bar per system, each
// metric scaled to its largest value (the table has the numbers).
func (rep *report) chart(w *workload, path string) error {
	p := plot.New()
	p.Title.Text = w.title
	p.Y.Label.Text = "relative to the largest (see the table)"
	p.Y.Max = 1.3 // room for the legend above the bars
	var names []string
	for _, m := range w.metrics {
		arrow := ""
		switch m.better {
		case +1:
			arrow = " ↑"
		case -1:
			arrow = " ↓"
		}
		names = append(names, m.title+arrow)
	}
	var present []string
	for _, s := range systemOrder {
		if len(rep.results[w.name][s]) > 0 {
			present = append(present, s)
		}
	}
	width := vg.Points(14)
	for i, s := range present {
		vals := make(plotter.Values, len(w.metrics))
		for j, m := range w.metrics {
			top := 0.0
			for _, o := range present {
				v, _ := rep.median(w, o, m.key)
				top = math.Max(top, v)
			}
			if v, ok := rep.median(w, s, m.key); ok && top > 0 {
				vals[j] = v / top
			}
		}
		bars, err := plotter.NewBarChart(vals, width)
		if err != nil {
			return err
		}
		bars.LineStyle.Width = 0
		bars.Color = chartColors[i%len(chartColors)]
		bars.Offset = width * vg.Length(i-len(present)/2)
		p.Add(bars)
		p.Legend.Add(s, bars)
	}
	p.Legend.Top = true
	p.NominalX(names...)
	return p.Save(vg.Length(110*len(w.metrics))+100, 300, path)
}

var chartColors = []color.Color{
	color.RGBA{R: 0x2a, G: 0x9d, B: 0x8f, A: 0xff}, // synk
	color.RGBA{R: 0xe7, G: 0x6f, B: 0x51, A: 0xff}, // centrifuge
	color.RGBA{R: 0x8d, G: 0x99, B: 0xae, A: 0xff}, // hub
}

// merge adds the workloads of the report saved in path that rep lacks.
func (rep *report) merge(path string) {
	b, err := os.ReadFile(path)
	if err != nil {
		return
	}
	var old struct {
		Results map[string]map[string][]result `json:"results"`
	}
	if json.Unmarshal(b, &old) != nil {
		return
	}
	for _, w := range allWorkloads() {
		if rep.results[w.name] != nil || old.Results[w.name] == nil {
			continue
		}
		rep.results[w.name] = old.Results[w.name]
	}
	var order []*workload
	for _, w := range allWorkloads() {
		if rep.results[w.name] != nil {
			order = append(order, w)
		}
	}
	rep.order = order
}
