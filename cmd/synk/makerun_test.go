package main

import (
	"bufio"
	"context"
	"errors"
	"net"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMakeRun_ctrlC: issue 17.4. `make run` starts the server, and Ctrl-C
// (SIGINT to the terminal's process group) stops it cleanly: the server
// shuts down and make exits 0, with no "Error" or "Interrupt" from make.
// Before, make ran `go run`, which ends with status 1 when interrupted.
func TestMakeRun_ctrlC(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the wasm client and the binary")
	}
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("no make")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "make", "-C", "../..", "--no-print-directory", "run", "ADDR=127.0.0.1:0", "DATA="+t.TempDir())
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // a terminal's process group, as Ctrl-C signals
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	out, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = cmd.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var log strings.Builder
	var addr string
	lines := bufio.NewScanner(out)
	for lines.Scan() {
		log.WriteString(lines.Text() + "\n")
		if m := regexp.MustCompile(`msg="synk serving" addr=http://(\S+)`).FindStringSubmatch(lines.Text()); m != nil {
			addr = m[1]
			break
		}
	}
	if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	for lines.Scan() {
		log.WriteString(lines.Text() + "\n")
	}
	err = cmd.Wait()
	// GNU make ends itself with the SIGINT it got, as a shell expects of
	// an interrupted program, once its recipe is done; what it must not do
	// is report an error of the recipe.
	var exit *exec.ExitError
	interrupted := errors.As(err, &exit) && exit.Sys().(syscall.WaitStatus).Signal() == syscall.SIGINT
	if err != nil && !interrupted || !strings.Contains(log.String(), `msg="synk shutting down"`) ||
		strings.Contains(log.String(), "Error") || strings.Contains(log.String(), "Interrupt") {
		t.Fatalf("make run after Ctrl-C: %v\n%s", err, log.String())
	}
	if conn, err := net.Dial("tcp", addr); err == nil { // make waited for the server
		conn.Close()
		t.Fatalf("the server still answers on %s after make ended", addr)
	}
}
