package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

func TestRunRejectsBadConfig(t *testing.T) {
	p := filepath.Join(t.TempDir(), "bad.toml")
	os.WriteFile(p, []byte("[http]\naddr = \"nowhere\"\n"), 0o600)
	var out bytes.Buffer
	err := run(context.Background(), []string{"gentd", "--config", p}, func(string) string { return "" }, &out)
	if err == nil || !strings.Contains(err.Error(), "http.addr") || !strings.Contains(err.Error(), "line 2") {
		t.Fatalf("want an error naming http.addr and line 2, got %v", err)
	}
	err = run(context.Background(), []string{"gentd", "check-config"}, func(k string) string {
		if k == "GENT_OUTBOUND_MODE" {
			return "pigeon"
		}
		return ""
	}, &out)
	if err == nil || !strings.Contains(err.Error(), "outbound.mode") {
		t.Fatalf("want an error naming outbound.mode, got %v", err)
	}
}

// daemon is a gentd process started by the test.
type daemon struct {
	t       *testing.T
	bin     string
	dataDir string
	addr    string
	cmd     *exec.Cmd
	out     *syncBuffer
	// env is added to the environment (after the defaults); smtpAddr is
	// where the SMTP server of the last start listens.
	env      []string
	smtpAddr string
}

// syncBuffer collects a daemon's output; tests may read it while the
// daemon writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func (d *daemon) start() {
	d.t.Helper()
	d.addr = freeAddr(d.t)
	d.smtpAddr = freeAddr(d.t)
	d.out = &syncBuffer{}
	d.cmd = exec.Command(d.bin)
	d.cmd.Env = append(os.Environ(), "GENT_DATA_DIR="+d.dataDir, "GENT_HTTP_ADDR="+d.addr,
		"GENT_SMTP_ADDR="+d.smtpAddr, "GENT_DATABASE_URL=", "GENT_METRICS_ADDR=127.0.0.1:0")
	d.cmd.Env = append(d.cmd.Env, d.env...)
	d.cmd.Stdout, d.cmd.Stderr = d.out, d.out
	if err := d.cmd.Start(); err != nil {
		d.t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get("http://" + d.addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		if d.cmd.ProcessState != nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	d.t.Fatalf("gentd did not become ready:\n%s", d.out.String())
}

func (d *daemon) stop(sig syscall.Signal) {
	d.t.Helper()
	_ = d.cmd.Process.Signal(sig)
	done := make(chan error, 1)
	go func() { done <- d.cmd.Wait() }()
	select {
	case err := <-done:
		if sig == syscall.SIGTERM && err != nil {
			d.t.Fatalf("gentd exited with %v after SIGTERM:\n%s", err, d.out.String())
		}
	case <-time.After(60 * time.Second):
		d.t.Fatalf("gentd did not exit after %v", sig)
	}
}

func (d *daemon) post(path, bearer string, body any) (int, map[string]any) {
	d.t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", "http://"+d.addr+path, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		d.t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m
}

// usageVerify runs "gentd usage verify" on the daemon's data directory.
func (d *daemon) usageVerify() (string, error) {
	cmd := exec.Command(d.bin, "usage", "verify")
	cmd.Env = append(os.Environ(), "GENT_DATA_DIR="+d.dataDir, "GENT_DATABASE_URL=", "GENT_METRICS_ADDR=127.0.0.1:0")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// postgresRunning reports whether a postgres process serves dataDir.
func postgresRunning(dataDir string) bool {
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		args := strings.Split(string(b), "\x00")
		if strings.Contains(filepath.Base(args[0]), "postgres") && strings.Contains(string(b), dataDir) {
			return true
		}
	}
	return false
}

func TestEmbeddedPostgresLifecycle(t *testing.T) {
	dir, err := os.MkdirTemp("", "gentd-e2e-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o755) // the cluster runs as the postgres user when we are root
	t.Cleanup(func() { os.RemoveAll(dir) })
	bin := filepath.Join(dir, "gentd")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	d := &daemon{t: t, bin: bin, dataDir: filepath.Join(dir, "data")}
	t.Cleanup(func() {
		if d.cmd != nil && d.cmd.ProcessState == nil {
			d.stop(syscall.SIGTERM)
		}
	})

	// First start: initdb, setup code.
	d.start()
	code, err := os.ReadFile(filepath.Join(d.dataDir, "setup-code"))
	if err != nil {
		t.Fatalf("setup-code not written: %v", err)
	}
	if !strings.Contains(d.out.String(), strings.TrimSpace(string(code))) {
		t.Fatalf("setup code not printed:\n%s", d.out.String())
	}
	setup := map[string]string{"setup_code": strings.TrimSpace(string(code)), "org_name": "Acme",
		"email": "owner@acme.test", "password": "correct horse battery"}
	if st, m := d.post("/v1/auth/setup", "", setup); st != 201 {
		t.Fatalf("setup: %d %v", st, m)
	}
	login := map[string]string{"email": "owner@acme.test", "password": "correct horse battery"}

	// SIGTERM: clean stop, no orphan postmaster.
	d.stop(syscall.SIGTERM)
	if postgresRunning(d.dataDir) {
		t.Fatal("postgres still running after SIGTERM")
	}

	// Restart keeps data.
	d.start()
	if st, _ := d.post("/v1/auth/login", "", login); st != 200 {
		t.Fatalf("login after restart: %d", st)
	}
	if st, _ := d.post("/v1/auth/setup", "", setup); st != 409 {
		t.Fatalf("setup after restart: want 409, got %d", st)
	}
	// gentd usage verify does not take the embedded cluster from a running
	// daemon (starting it would stop the daemon's server).
	if out, err := d.usageVerify(); err == nil || !strings.Contains(out, "in use by a running gentd") {
		t.Fatalf("usage verify beside a running daemon: %v\n%s", err, out)
	}
	if st, _ := d.post("/v1/auth/login", "", login); st != 200 {
		t.Fatalf("login after usage verify was refused: %d", st)
	}
	// Committed just before the crash.
	_, m := d.post("/v1/auth/login", "", login)
	sess, _ := m["token"].(string)
	if st, _ := d.post("/v1/users", sess, map[string]string{"email": "late@acme.test", "password": "correct horse battery", "role": "admin"}); st != 201 {
		t.Fatalf("create user: %d", st)
	}

	// SIGKILL: the postmaster is left behind; the next start takes over.
	d.stop(syscall.SIGKILL)
	if !postgresRunning(d.dataDir) {
		t.Log("postmaster exited with the daemon")
	}
	d.start()
	if st, _ := d.post("/v1/auth/login", "", map[string]string{"email": "late@acme.test", "password": "correct horse battery"}); st != 200 {
		t.Fatalf("user committed before SIGKILL lost: %d\n%s", st, d.out.String())
	}
	d.stop(syscall.SIGINT)
	if postgresRunning(d.dataDir) {
		t.Fatal("postgres still running after SIGINT")
	}

	// A stale postmaster.pid (its process gone) is handled.
	pidFile := filepath.Join(d.dataDir, "postgres", "data", "postmaster.pid")
	if err := os.WriteFile(pidFile, []byte(fmt.Sprintf("%d\n%s\n", 4194000, filepath.Join(d.dataDir, "postgres", "data"))), 0o600); err != nil {
		t.Fatal(err)
	}
	d.start()
	if st, _ := d.post("/v1/auth/login", "", login); st != 200 {
		t.Fatalf("login after stale pid: %d", st)
	}
	d.stop(syscall.SIGTERM)
	// With the daemon stopped, gentd usage verify runs the cluster itself
	// and stops it again.
	if out, err := d.usageVerify(); err != nil || !strings.Contains(out, "usage OK: 0 inboxes") {
		t.Fatalf("usage verify: %v\n%s", err, out)
	}
	if postgresRunning(d.dataDir) {
		t.Fatal("postgres still running at the end")
	}
}
