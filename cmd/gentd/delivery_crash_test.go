package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	osexec "os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"gent/daemon/dnstest"
	"gent/daemon/smtpsink"
	"gent/daemon/store"
	"gent/daemon/store/storetest"
)

func (d *daemon) get(path, bearer string) (int, []byte) {
	d.t.Helper()
	req, _ := http.NewRequest("GET", "http://"+d.addr+path, nil)
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		d.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// TestDeliveryCrashDeliversOnce kills gentd (SIGKILL) in the middle of a
// delivery attempt, restarts it, and checks that the send is delivered to
// the remote exactly once and recorded as delivered — within a bound set
// by the configured attempt timeout (jobs.rescue_after left at its
// default), not the hour it once took.
func TestDeliveryCrashDeliversOnce(t *testing.T) {
	url := storetest.NewURL(t)
	dns := dnstest.New(t)
	sink := smtpsink.New(t)
	dns.AddA("mx.gent.test", "127.0.0.1")
	dns.AddMX("example.net", 10, "mx.example.net")
	dns.AddA("mx.example.net", "127.0.0.1")

	dir, err := os.MkdirTemp("", "gentd-delivery-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	bin := filepath.Join(dir, "gentd")
	if out, err := osexec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	d := &daemon{t: t, bin: bin, dataDir: filepath.Join(dir, "data"), env: []string{
		"GENT_DATABASE_URL=" + url, "GENT_HOSTNAME=mx.gent.test", "GENT_DNS_RESOLVER=" + dns.Addr, "GENT_DNS_TIMEOUT=1s",
		"GENT_OUTBOUND_PORT=" + strconv.Itoa(sink.Port), "GENT_OUTBOUND_CONNECT_TIMEOUT=1s", "GENT_OUTBOUND_COMMAND_TIMEOUT=1s",
		"GENT_OUTBOUND_RETRY_INTERVALS=200ms", "GENT_LOG_LEVEL=warn"}}
	// One attempt may last 2 × connect + 3 × command timeout; the default
	// rescue time is twice that. River's rescuer runs every 30 s on the
	// leader, and the killed daemon's leadership lapses after 15 s; a
	// minute covers those, the scheduler and the first retry's backoff.
	attempt := 2*time.Second + 3*time.Second
	bound := 2*attempt + time.Minute
	t.Cleanup(func() {
		if d.cmd != nil && d.cmd.ProcessState == nil {
			_ = d.cmd.Process.Kill()
		}
	})
	d.start()

	code, err := os.ReadFile(filepath.Join(d.dataDir, "setup-code"))
	if err != nil {
		t.Fatal(err)
	}
	st, m := d.post("/v1/auth/setup", "", map[string]string{"setup_code": strings.TrimSpace(string(code)), "org_name": "Acme",
		"email": "owner@acme.test", "password": "correct horse battery"})
	if st != 201 {
		t.Fatalf("setup: %d %v", st, m)
	}
	owner := m["token"].(string)
	st, m = d.post("/v1/domains", owner, map[string]string{"domain": "mail.example.com"})
	if st != 201 {
		t.Fatalf("domain: %d %v", st, m)
	}
	domID := m["id"].(string)
	_, zone := d.get("/v1/domains/"+domID+"/zone", owner)
	if err := dns.AddZone(string(zone)); err != nil {
		t.Fatal(err)
	}
	if st, m = d.post("/v1/domains/"+domID+"/verify", owner, nil); st != 200 || m["status"] != "verified" {
		t.Fatalf("verify: %d %v", st, m)
	}
	st, m = d.post("/v1/inboxes", owner, map[string]string{"address": "agent@mail.example.com"})
	if st != 201 {
		t.Fatalf("inbox: %d %v", st, m)
	}
	inbox := m["id"].(string)
	st, m = d.post("/v1/tokens", owner, map[string]any{"inbox_id": inbox, "label": "crash", "scopes": []string{"email:read", "email:send"}})
	if st != 201 {
		t.Fatalf("token: %d %v", st, m)
	}
	agent := m["token"].(string)

	// The remote stalls before accepting anything; the daemon dies meanwhile.
	sink.StallMail(3 * time.Second)
	st, m = d.post("/v1/inboxes/"+inbox+"/messages/send", agent, map[string]any{"to": "ann@example.net", "subject": "crash", "text": "once"})
	if st != 202 {
		t.Fatalf("send: %d %v", st, m)
	}
	msgID := m["id"].(string)
	deadline := time.Now().Add(20 * time.Second)
	for sink.Sessions() == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("delivery never started:\n%s", d.out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	d.stop(syscall.SIGKILL)
	killed := time.Now()
	sink.StallMail(0)

	// After the restart the orphaned attempt is rescued and delivered once.
	d.start()
	deadline = killed.Add(bound)
	for len(sink.Messages()) == 0 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if len(sink.Messages()) == 0 {
		st, err := store.Connect(context.Background(), url, 2, slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err == nil {
			var rows []map[string]any
			st.DB.Raw(`SELECT kind, state, attempt, scheduled_at, attempted_at, errors::text FROM river_job WHERE kind = 'delivery.send'`).Scan(&rows)
			var leaders []map[string]any
			st.DB.Raw(`SELECT * FROM river_leader`).Scan(&leaders)
			t.Logf("jobs: %v\nleader: %v\nnow %s", rows, leaders, time.Now().UTC())
			st.Pool.Close()
		}
		t.Fatalf("not redelivered within %s of the crash:\n%s", bound, d.out.String())
	}
	t.Logf("redelivered %s after the crash (bound %s)", time.Since(killed).Round(time.Second), bound)
	msgs := sink.Messages()
	time.Sleep(time.Second)
	if n := len(sink.Messages()); n != 1 {
		t.Fatalf("want exactly one delivery, got %d", n)
	}
	if !strings.Contains(string(msgs[0].Data), "once") {
		t.Fatalf("delivered %s", msgs[0].Data)
	}
	deadline = time.Now().Add(10 * time.Second)
	for {
		_, b := d.get("/v1/inboxes/"+inbox+"/messages/"+msgID+"/delivery", agent)
		if strings.Contains(string(b), `"status":"delivered"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not recorded delivered: %s", b)
		}
		time.Sleep(100 * time.Millisecond)
	}
	d.stop(syscall.SIGTERM)
}
