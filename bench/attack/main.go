// Command attack runs the hostile clients of issue 15 against the synk
// binary on loopback, several times each, and prints the server's peak
// RSS growth per attack (median and range) beside its bound, and a probe
// client's longest round trip: the figures of docs/LIMITS.md.
//
//	go run -C bench ./attack -runs 3
//	go run -C bench ./attack -bin /tmp/synk-old -plain   # an older build, without the new flags
//
// Each attack is bounded in count and time and stops by itself.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"regexp"
	"slices"
	"time"

	"github.com/synkhq/synk/internal/attack"
)

func main() {
	bin := flag.String("bin", "", "the synk binary to attack (default: build this tree's)")
	runs := flag.Int("runs", 3, "runs of each attack")
	only := flag.String("only", "", "run only the attacks whose name matches this regular expression")
	plain := flag.Bool("plain", false, "start the server without the attacks' flags (an older build lacks them)")
	flag.Parse()
	if err := run(*bin, *runs, *only, *plain); err != nil {
		fmt.Fprintln(os.Stderr, "attack:", err)
		os.Exit(1)
	}
}

func run(bin string, runs int, only string, plain bool) error {
	ctx := context.Background()
	if bin == "" {
		dir, err := os.MkdirTemp("", "synk-attack")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		if bin, err = attack.Build(ctx, dir); err != nil {
			return err
		}
	}
	re, err := regexp.Compile(only)
	if err != nil {
		return err
	}
	fmt.Printf("| attack | peak RSS growth, median (range) of %d | bound | server CPU, median | probe's longest round trip | before the fix |\n|---|---|---|---|---|---|\n", runs)
	failed := false
	for _, c := range attack.Cases() {
		if !re.MatchString(c.Name) {
			continue
		}
		var growth, cpu []float64
		var probe time.Duration
		for range runs {
			cctx, cancel := context.WithTimeout(ctx, c.Hold+2*time.Minute)
			res, err := c.Run(cctx, bin, plain)
			cancel()
			if err != nil {
				fmt.Fprintf(os.Stderr, "%s: %v\n", c.Name, err)
				failed = true
				continue
			}
			if err := c.Check(res); err != nil {
				fmt.Fprintf(os.Stderr, "%s: %v\n", c.Name, err)
				failed = true
			}
			growth = append(growth, float64(res.Growth())/(1<<20))
			cpu = append(cpu, 100*res.CPU)
			probe = max(probe, res.ProbeMax)
		}
		if len(growth) == 0 {
			continue
		}
		slices.Sort(growth)
		slices.Sort(cpu)
		fmt.Printf("| %s: %s | %.1f MB (%.1f–%.1f) | %d MB | %.0f%% | %v | %s |\n", c.Name, c.Attack.Name(), growth[len(growth)/2],
			growth[0], growth[len(growth)-1], c.Bound>>20, cpu[len(cpu)/2], probe.Round(time.Millisecond), c.Before)
	}
	if failed {
		return fmt.Errorf("some attacks broke their bounds (above)")
	}
	return nil
}
