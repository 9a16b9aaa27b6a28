package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestRunScriptWithoutTerminal runs scripts/run.sh (make run) with no
// terminal, as CI, ssh without -t or a process manager would: gentd must
// run in the foreground, the script must say how to start the TUI, and a
// SIGTERM must stop gentd cleanly (exit 0, its PostgreSQL stopped).
func TestRunScriptWithoutTerminal(t *testing.T) {
	t.Parallel() // waits on other processes most of the time
	dir, bin := buildGentd(t)
	// The script runs ./bin/gentd from the directory above scripts/.
	os.MkdirAll(filepath.Join(dir, "scripts"), 0o755)
	os.MkdirAll(filepath.Join(dir, "bin"), 0o755)
	if err := os.Rename(bin, filepath.Join(dir, "bin", "gentd")); err != nil {
		t.Fatal(err)
	}
	script, err := os.ReadFile("../../scripts/run.sh")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "scripts", "run.sh"), script, 0o755); err != nil {
		t.Fatal(err)
	}
	d := &daemon{t: t, dataDir: filepath.Join(dir, "data"), addr: freeAddr(t), smtpAddr: freeAddr(t), out: &syncBuffer{}}
	d.cmd = exec.Command("sh", filepath.Join(dir, "scripts", "run.sh"))
	d.cmd.Env = append(os.Environ(), "GENT_DATA_DIR="+d.dataDir, "GENT_HTTP_ADDR="+d.addr,
		"GENT_SMTP_ADDR="+d.smtpAddr, "GENT_DATABASE_URL=", "GENT_METRICS_ADDR=127.0.0.1:0")
	d.cmd.Stdin = nil // /dev/null
	d.cmd.Stdout, d.cmd.Stderr = d.out, d.out
	d.cmd.WaitDelay = 10 * time.Second // a stray holder of the output pipe must not hang the test
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	var waitErr error
	go func() { waitErr = d.cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		select {
		case <-exited:
		default:
			_ = d.cmd.Process.Kill()
			<-exited
		}
	})
	deadline := time.Now().Add(90 * time.Second)
	for d.readyz() != 200 {
		select {
		case <-exited:
			t.Fatalf("run.sh exited (%v) before gentd was ready:\n%s", waitErr, d.out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("gentd not ready:\n%s", d.out.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	hint := "./bin/genttui --server http://" + d.addr + " --data-dir " + d.dataDir
	if !strings.Contains(d.out.String(), hint) {
		t.Fatalf("no hint %q:\n%s", hint, d.out.String())
	}
	// gentd is the script's process (exec): the signal reaches it.
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-exited:
		if waitErr != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", waitErr, d.out.String())
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("no exit after SIGTERM:\n%s", d.out.String())
	}
	if !strings.Contains(d.out.String(), "embedded PostgreSQL stopped") || postgresRunning(d.dataDir) {
		t.Fatalf("PostgreSQL not stopped:\n%s", d.out.String())
	}
}
