package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// buildGentd builds the daemon into a fresh directory the postgres user
// can enter (the embedded cluster runs as that user when tests run as
// root) and returns the directory and the binary.
func buildGentd(t *testing.T) (dir, bin string) {
	t.Helper()
	dir, err := os.MkdirTemp("", "gentd-e2e-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o755)
	t.Cleanup(func() { os.RemoveAll(dir) })
	bin = filepath.Join(dir, "gentd")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return dir, bin
}

// postmasterPID returns the PID in the embedded cluster's postmaster.pid.
func postmasterPID(t *testing.T, dataDir string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dataDir, "postgres", "data", "postmaster.pid"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.SplitN(string(b), "\n", 2)[0]
}

// TestSecondDaemonOnDataDirRefused starts a second gentd on a data_dir a
// running gentd uses: it must exit non-zero saying why, and leave the
// first daemon and its PostgreSQL alone. Once the first is killed (its
// postmaster left running), a new daemon takes the cluster over.
func TestSecondDaemonOnDataDirRefused(t *testing.T) {
	t.Parallel() // waits on other processes most of the time
	dir, bin := buildGentd(t)
	first := &daemon{t: t, bin: bin, dataDir: filepath.Join(dir, "data")}
	t.Cleanup(func() {
		if first.cmd != nil && first.cmd.ProcessState == nil {
			first.stop(syscall.SIGTERM)
		}
	})
	first.start()
	pid := postmasterPID(t, first.dataDir)

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	second := exec.CommandContext(ctx, bin)
	second.Env = append(os.Environ(), "GENT_DATA_DIR="+first.dataDir, "GENT_HTTP_ADDR="+freeAddr(t),
		"GENT_SMTP_ADDR="+freeAddr(t), "GENT_DATABASE_URL=", "GENT_METRICS_ADDR=127.0.0.1:0")
	var out bytes.Buffer
	second.Stdout, second.Stderr = &out, &out
	err := second.Run()
	if ctx.Err() != nil {
		t.Fatalf("second daemon did not exit:\n%s", out.String())
	}
	if err == nil {
		t.Fatalf("second daemon on the same data_dir exited 0:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "in use by a running gentd") || strings.Contains(out.String(), "restarting it") {
		t.Fatalf("second daemon's message:\n%s", out.String())
	}
	// The first daemon and its server are untouched.
	if got := postmasterPID(t, first.dataDir); got != pid {
		t.Fatalf("postmaster changed from %s to %s", pid, got)
	}
	code, _ := os.ReadFile(filepath.Join(first.dataDir, "setup-code"))
	if st, m := first.post("/v1/auth/setup", "", map[string]string{"setup_code": strings.TrimSpace(string(code)),
		"org_name": "Acme", "email": "owner@acme.test", "password": "correct horse battery"}); st != 201 {
		t.Fatalf("first daemon after the second was refused: setup %d %v\n%s", st, m, first.out.String())
	}

	// kill -9: the postmaster outlives its daemon, the lock does not.
	first.stop(syscall.SIGKILL)
	if !postgresRunning(first.dataDir) {
		t.Fatal("postmaster exited with the killed daemon; nothing stale to recover")
	}
	third := &daemon{t: t, bin: bin, dataDir: first.dataDir}
	third.start()
	defer third.stop(syscall.SIGTERM)
	if !strings.Contains(third.out.String(), "left running by a daemon that died") {
		t.Fatalf("the stale cluster was not taken over:\n%s", third.out.String())
	}
	if st, _ := third.post("/v1/auth/login", "", map[string]string{"email": "owner@acme.test", "password": "correct horse battery"}); st != 200 {
		t.Fatalf("login after recovery: %d\n%s", st, third.out.String())
	}
}
