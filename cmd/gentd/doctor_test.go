package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/miekg/dns"

	"gent/daemon/dnstest"
)

// runDoctor runs "gentd doctor" in-process with env (KEY=value pairs) as
// its whole environment.
func runDoctor(t *testing.T, env map[string]string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	err := run(context.Background(), []string{"gentd", "doctor"}, func(k string) string { return env[k] }, &out)
	t.Logf("gentd doctor:\n%s", out.String())
	return out.String(), err
}

func hasLine(out, level, check, contains string) bool {
	re := regexp.MustCompile(`(?m)^` + level + ` +` + check + ` +.*` + regexp.QuoteMeta(contains))
	return re.MatchString(out)
}

// gentd doctor against a healthy daemon on its embedded cluster (ok lines,
// exit 0) and a broken setup (a DNS record gone, the SMTP listener
// missing: fail lines, exit non-zero); it never starts a second cluster.
func TestDoctor(t *testing.T) {
	dir, bin := buildGentd(t)
	zone := dnstest.New(t)
	metricsAddr := freeAddr(t)
	d := &daemon{t: t, bin: bin, dataDir: filepath.Join(dir, "data"), env: []string{
		"GENT_HOSTNAME=mx.gent.test", "GENT_DNS_RESOLVER=" + zone.Addr, "GENT_DNS_TIMEOUT=2s",
		"GENT_METRICS_ADDR=" + metricsAddr, "GENT_LOG_LEVEL=warn"}}
	t.Cleanup(func() {
		if d.cmd != nil && d.cmd.ProcessState == nil {
			d.stop(syscall.SIGTERM)
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
	if st, m = d.post("/v1/domains", owner, map[string]string{"domain": "mail.example.com"}); st != 201 {
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

	env := map[string]string{"GENT_DATA_DIR": d.dataDir, "GENT_HTTP_ADDR": d.addr, "GENT_SMTP_ADDR": d.smtpAddr,
		"GENT_HOSTNAME": "mx.gent.test", "GENT_DNS_RESOLVER": zone.Addr, "GENT_DNS_TIMEOUT": "2s", "GENT_METRICS_ADDR": metricsAddr}
	out, err := runDoctor(t, env)
	if err != nil {
		t.Fatalf("doctor on a healthy daemon: %v", err)
	}
	for _, l := range [][2]string{{"config", "valid"}, {"database", "PostgreSQL"}, {"migrations", "current"},
		{"clock", "of the database"}, {"dns", "mail.example.com: all"}, {"smtp", d.smtpAddr}, {"http", "/readyz answers 200"},
		{"metrics", "/metrics answers 200"}} {
		if !hasLine(out, "ok", l[0], l[1]) {
			t.Errorf("no ok line for %s", l[0])
		}
	}
	if strings.Contains(out, "\nfail") || strings.HasPrefix(out, "fail") {
		t.Errorf("fail lines on a healthy daemon")
	}
	// No smtp.tls_cert: STARTTLS serves the certificate gentd made for
	// hostname under data_dir, which doctor names as a warning (not a
	// failure), and the daemon logged that it uses it.
	if !hasLine(out, "warn", "tls", "certificate for mx.gent.test valid") || !hasLine(out, "warn", "tls", ": self-signed") {
		t.Error("no warn line for the self-signed certificate")
	}
	if !strings.Contains(d.out.String(), "self-signed certificate") {
		t.Errorf("the daemon did not log that STARTTLS uses a self-signed certificate:\n%s", d.out.String())
	}
	if !hasLine(out, "(ok|warn)", "disk", "free of") {
		t.Error("no line for the free disk under data_dir")
	}
	// The daemon is untouched: it still holds data_dir and serves.
	if st, _ := d.post("/v1/auth/login", "", map[string]string{"email": "owner@acme.test", "password": "correct horse battery"}); st != 200 {
		t.Fatalf("login after doctor: %d", st)
	}

	// Broken: the domain's TXT records at its apex are gone (SPF) and
	// nothing listens on the configured SMTP address.
	zone.Delete("mail.example.com", dns.TypeTXT)
	env["GENT_SMTP_ADDR"] = freeAddr(t)
	out, err = runDoctor(t, env)
	if err == nil {
		t.Fatal("doctor on a broken setup exited 0")
	}
	if !hasLine(out, "fail", "dns", "mail.example.com: spf TXT mail.example.com is") {
		t.Error("no fail line for the missing SPF record")
	}
	if !hasLine(out, "fail", "smtp", "nothing answers on smtp.addr") {
		t.Error("no fail line for the SMTP listener")
	}
	if !hasLine(out, "ok", "http", "answers 200") {
		t.Error("the HTTP listener, still up, is not ok")
	}

	// Without the daemon, doctor says what it could not check and does
	// not start the embedded cluster.
	d.stop(syscall.SIGTERM)
	out, err = runDoctor(t, env)
	if err == nil || !hasLine(out, "fail", "database", "doctor does not start it") {
		t.Fatalf("doctor without a daemon: %v", err)
	}
	if postgresRunning(d.dataDir) {
		t.Fatal("doctor started the embedded PostgreSQL")
	}
}
