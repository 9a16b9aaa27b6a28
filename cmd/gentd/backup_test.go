package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-msgauth/dkim"
	"github.com/emersion/go-smtp"
	"github.com/miekg/dns"

	"gent/daemon/dnstest"
	"gent/daemon/smtpsink"
	"gent/daemon/store"
	"gent/daemon/store/storetest"
)

// gentdCmd runs a gentd subcommand with the given environment added and
// returns its output and error.
func gentdCmd(bin string, env []string, args ...string) (string, error) {
	cmd := exec.Command(bin, args...)
	cmd.Env = append(append(os.Environ(), "GENT_DATABASE_URL="), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestBackupRestore backs up a populated daemon (domain with DKIM keys,
// inbox, inbound message received over SMTP, agent token, held send) while
// it runs, restores the backup into a new data dir, starts gentd there and
// finds all of it: the messages, the token still authenticating, DKIM
// still signing (verified against the published records), the held send
// still pending. A backup of the stopped daemon restores into an empty
// database at database.url. Non-empty targets are refused.
func TestBackupRestore(t *testing.T) {
	zone := dnstest.New(t)
	sink := smtpsink.New(t)
	zone.AddA("mx.gent.test", "127.0.0.1")
	zone.AddMX("example.net", 10, "mx.example.net")
	zone.AddA("mx.example.net", "127.0.0.1")
	dir, bin := buildGentd(t)
	env := []string{"GENT_HOSTNAME=mx.gent.test", "GENT_DNS_RESOLVER=" + zone.Addr, "GENT_DNS_TIMEOUT=1s",
		"GENT_OUTBOUND_PORT=" + strconv.Itoa(sink.Port), "GENT_LOG_LEVEL=warn"}
	d := &daemon{t: t, bin: bin, dataDir: filepath.Join(dir, "data"), env: env}
	restored := &daemon{t: t, bin: bin, dataDir: filepath.Join(dir, "restored"), env: env}
	t.Cleanup(func() {
		for _, x := range []*daemon{d, restored} {
			if x.cmd != nil && x.cmd.ProcessState == nil {
				x.stop(syscall.SIGTERM)
			}
		}
	})
	d.start()

	// Populate.
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
	_, zoneText := d.get("/v1/domains/"+domID+"/zone", owner)
	if err := zone.AddZone(string(zoneText)); err != nil {
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
	st, m = d.post("/v1/tokens", owner, map[string]any{"inbox_id": inbox, "label": "agent", "scopes": []string{"email:read", "email:send"}})
	if st != 201 {
		t.Fatalf("token: %d %v", st, m)
	}
	agent := m["token"].(string)
	st, m = d.post("/v1/tokens", owner, map[string]any{"inbox_id": inbox, "label": "supervised",
		"scopes": []string{"email:read", "email:send"}, "requires_approval": []string{"email:send"}})
	if st != 201 {
		t.Fatalf("supervised token: %d %v", st, m)
	}
	supervised := m["token"].(string)
	// In plaintext, as MTAs fall back to when a certificate does not verify.
	sc, err := smtp.Dial(d.smtpAddr)
	if err != nil {
		t.Fatal(err)
	}
	if err := sc.SendMail("ada@example.org", []string{"agent@mail.example.com"}, strings.NewReader(
		"From: Ada <ada@example.org>\r\nTo: agent@mail.example.com\r\nSubject: received before the backup\r\n"+
			"Message-ID: <before-backup@example.org>\r\n\r\nHello agent.\r\n")); err != nil {
		t.Fatalf("inbound SMTP: %v", err)
	}
	sc.Close()
	st, m = d.post("/v1/inboxes/"+inbox+"/messages/send", supervised, map[string]any{"to": "bob@example.net", "subject": "held", "text": "wait"})
	if st != 202 || m["status"] != "pending_approval" {
		t.Fatalf("held send: %d %v", st, m)
	}
	approvalID := m["approval_id"].(string)

	// Back up the running daemon.
	file := filepath.Join(dir, "gent.backup")
	out, err := gentdCmd(bin, []string{"GENT_DATA_DIR=" + d.dataDir}, "backup", file)
	if err != nil {
		t.Fatalf("backup: %v\n%s", err, out)
	}
	if !strings.Contains(out, "holds secrets") {
		t.Fatalf("no warning that the backup holds secrets:\n%s", out)
	}
	if fi, err := os.Stat(file); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("backup file: %v %v", fi.Mode(), err)
	}
	if st, _ := d.post("/v1/auth/login", "", map[string]string{"email": "owner@acme.test", "password": "correct horse battery"}); st != 200 {
		t.Fatalf("the daemon suffered from the backup: login %d", st)
	}
	d.stop(syscall.SIGTERM)
	// And the stopped one (its cluster is started read-only for the dump).
	file2 := filepath.Join(dir, "gent-stopped.backup")
	if out, err := gentdCmd(bin, []string{"GENT_DATA_DIR=" + d.dataDir}, "backup", file2); err != nil {
		t.Fatalf("backup of a stopped daemon: %v\n%s", err, out)
	}
	if postgresRunning(d.dataDir) {
		t.Fatal("backup left the embedded cluster running")
	}

	// A non-empty data dir is refused.
	if out, err := gentdCmd(bin, []string{"GENT_DATA_DIR=" + d.dataDir}, "restore", file); err == nil || !strings.Contains(out, "is not empty") {
		t.Fatalf("restore into a used data dir: %v\n%s", err, out)
	}
	// So is a non-empty database.
	if out, err := gentdCmd(bin, []string{"GENT_DATA_DIR=" + filepath.Join(dir, "ext"), "GENT_DATABASE_URL=" + storetest.NewURL(t)},
		"restore", file); err == nil || !strings.Contains(out, "is not empty") {
		t.Fatalf("restore into a used database: %v\n%s", err, out)
	}

	// Restore into a new data dir and start there.
	if out, err := gentdCmd(bin, []string{"GENT_DATA_DIR=" + restored.dataDir}, "restore", file); err != nil {
		t.Fatalf("restore: %v\n%s", err, out)
	}
	restored.start()
	if st, _ := restored.post("/v1/auth/login", "", map[string]string{"email": "owner@acme.test", "password": "correct horse battery"}); st != 200 {
		t.Fatalf("owner login after restore: %d", st)
	}
	st, body := restored.get("/v1/inboxes/"+inbox+"/messages", agent)
	if st != 200 || !strings.Contains(string(body), "received before the backup") {
		t.Fatalf("messages after restore (agent token): %d %s", st, body)
	}
	_, _, owner2 := restored.login()
	st, body = restored.get("/v1/approvals/"+approvalID, owner2)
	var apr struct{ Status string }
	_ = json.Unmarshal(body, &apr)
	if st != 200 || apr.Status != "pending" {
		t.Fatalf("held send after restore: %d %s", st, body)
	}
	st, m = restored.post("/v1/inboxes/"+inbox+"/messages/send", agent, map[string]any{"to": "ann@example.net", "subject": "after restore", "text": "signed"})
	if st != 202 {
		t.Fatalf("send after restore: %d %v", st, m)
	}
	msgs := sink.WaitFor(t, 1, 30*time.Second)
	verifs, err := dkim.VerifyWithOptions(bytes.NewReader(msgs[0].Data), &dkim.VerifyOptions{LookupTXT: zoneTXT(zone.Addr)})
	if err != nil || len(verifs) == 0 {
		t.Fatalf("DKIM: %v (%d signatures)", err, len(verifs))
	}
	for _, v := range verifs {
		if v.Err != nil || v.Domain != "mail.example.com" {
			t.Fatalf("DKIM signature after restore does not verify: %+v", v)
		}
	}
	restored.stop(syscall.SIGTERM)

	// The stopped daemon's backup restores into an empty database.
	ext := emptyDatabase(t)
	extDir := filepath.Join(dir, "ext")
	if out, err := gentdCmd(bin, []string{"GENT_DATA_DIR=" + extDir, "GENT_DATABASE_URL=" + ext}, "restore", file2); err != nil {
		t.Fatalf("restore into database.url: %v\n%s", err, out)
	}
	s, err := store.Connect(context.Background(), ext, 2, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Pool.Close()
	var n int64
	if err := s.DB.Raw(`SELECT count(*) FROM messages WHERE subject IN ('received before the backup', 'held')`).Scan(&n).Error; err != nil || n != 2 {
		t.Fatalf("messages restored into database.url: %d %v", n, err)
	}
	if _, err := os.Stat(filepath.Join(extDir, "master.key")); err != nil {
		t.Fatalf("master key not restored: %v", err)
	}
}

// login signs the owner in and returns the session token.
func (d *daemon) login() (int, map[string]any, string) {
	d.t.Helper()
	st, m := d.post("/v1/auth/login", "", map[string]string{"email": "owner@acme.test", "password": "correct horse battery"})
	tok, _ := m["token"].(string)
	return st, m, tok
}

// zoneTXT looks TXT records up on the test DNS server.
func zoneTXT(addr string) func(string) ([]string, error) {
	return func(name string) ([]string, error) {
		q := new(dns.Msg)
		q.SetQuestion(dns.Fqdn(name), dns.TypeTXT)
		r, err := dns.Exchange(q, addr)
		if err != nil {
			return nil, err
		}
		var out []string
		for _, rr := range r.Answer {
			if txt, ok := rr.(*dns.TXT); ok {
				out = append(out, strings.Join(txt.Txt, ""))
			}
		}
		if len(out) == 0 {
			return nil, fmt.Errorf("no TXT record for %s", name)
		}
		return out, nil
	}
}

// emptyDatabase creates an empty database on the test server and returns
// its URL.
func emptyDatabase(t *testing.T) string {
	t.Helper()
	admin := storetest.AdminURL(t)
	name := fmt.Sprintf("gent_restore_%d", os.Getpid())
	s, err := store.Connect(context.Background(), admin, 1, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Pool.Close()
	if err := s.DB.Exec(`CREATE DATABASE ` + name).Error; err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if s, err := store.Connect(context.Background(), admin, 1, slog.New(slog.NewTextHandler(io.Discard, nil))); err == nil {
			s.DB.Exec(`DROP DATABASE IF EXISTS ` + name + ` WITH (FORCE)`)
			s.Pool.Close()
		}
	})
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}
