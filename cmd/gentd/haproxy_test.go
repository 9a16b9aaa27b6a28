package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	osexec "os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"text/template"
	"time"

	"github.com/emersion/go-smtp"

	"gent/daemon/dnstest"
	"gent/daemon/smtpsink"
	"gent/daemon/store"
	"gent/daemon/store/storetest"
)

// haproxyConfig is the configuration docs/cluster.md shows: TCP mode with
// the PROXY protocol v2 in front of the replicas' SMTP, HTTP mode with
// X-Forwarded-For (replaced, not appended) in front of their APIs, health
// checks on /readyz, and a failed connection retried on another replica.
const haproxyConfig = `global
    maxconn 2000

defaults
    timeout connect 2s
    timeout client  60s
    timeout server  60s
    retries 3
    option redispatch

frontend smtp
    mode tcp
    bind {{.SMTP}}
    default_backend gentd_smtp

backend gentd_smtp
    mode tcp
    balance roundrobin
{{- range $i, $r := .Replicas}}
    server gentd{{$i}} {{$r.SMTP}} send-proxy-v2 check check-send-proxy inter 500ms fall 2 rise 2
{{- end}}

frontend api
    mode http
    bind {{.HTTP}}
    default_backend gentd_api

backend gentd_api
    mode http
    balance roundrobin
    option httpchk GET /readyz
    http-request set-header X-Forwarded-For %[src]
{{- range $i, $r := .Replicas}}
    server gentd{{$i}} {{$r.HTTP}} check inter 500ms fall 2 rise 2
{{- end}}
`

type haproxyAddrs struct {
	SMTP, HTTP string
	Replicas   []struct{ SMTP, HTTP string }
}

// haproxyBin finds haproxy, installing it (scripts/ensure-haproxy.sh)
// when missing and root; otherwise the test fails with the command to run.
func haproxyBin(t *testing.T) string {
	t.Helper()
	find := func() string {
		if p, err := osexec.LookPath("haproxy"); err == nil {
			return p
		}
		if _, err := os.Stat("/usr/sbin/haproxy"); err == nil {
			return "/usr/sbin/haproxy"
		}
		return ""
	}
	if p := find(); p != "" {
		return p
	}
	out, err := osexec.Command("../../scripts/ensure-haproxy.sh").CombinedOutput()
	if p := find(); err == nil && p != "" {
		return p
	}
	t.Fatalf("HAProxy is needed for this test and could not be installed:\n%s", out)
	return ""
}

// dialFrom connects to addr from a chosen loopback source address, so a
// client is told apart from the balancer (127.0.0.1).
func dialFrom(src, addr string) (net.Conn, error) {
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 5 * time.Second}
	return d.Dial("tcp", addr)
}

// TestHAProxy runs two replicas behind HAProxy (TCP mode with
// send-proxy-v2 for SMTP, HTTP mode for the API), sends mail and API
// traffic through it from a client address other than the balancer's,
// checks that gentd sees that client (SPF, Received, audit), stops one
// replica, and checks that traffic continues.
func TestHAProxy(t *testing.T) {
	t.Parallel() // waits on other processes most of the time
	hap := haproxyBin(t)
	url := storetest.NewURL(t)
	dns := dnstest.New(t)
	sink := smtpsink.New(t)
	dns.AddA("mx.gent.test", "127.0.0.1")
	dns.AddMX("example.net", 10, "mx.example.net")
	dns.AddA("mx.example.net", "127.0.0.1")
	// Only the client (127.0.0.2) may send for client.example, not the
	// balancer (127.0.0.1).
	dns.SetTXT("client.example", "v=spf1 ip4:127.0.0.2 -all")

	dir, err := os.MkdirTemp("", "gentd-haproxy-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	bin := filepath.Join(dir, "gentd")
	if out, err := osexec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	env := []string{
		"GENT_DATABASE_URL=" + url, "GENT_HOSTNAME=mx.gent.test", "GENT_DNS_RESOLVER=" + dns.Addr, "GENT_DNS_TIMEOUT=1s",
		"GENT_SECURITY_MASTER_KEY=" + strings.Repeat("cd", 32),
		"GENT_OUTBOUND_PORT=" + strconv.Itoa(sink.Port), "GENT_OUTBOUND_RETRY_INTERVALS=200ms",
		"GENT_SMTP_PROXY_TRUSTED=127.0.0.1", "GENT_HTTP_TRUSTED_PROXIES=127.0.0.1", "GENT_LOG_LEVEL=warn"}
	reps := make([]*replica, 2)
	for i := range reps {
		reps[i] = &replica{daemon: &daemon{t: t, bin: bin, dataDir: filepath.Join(dir, fmt.Sprintf("data%d", i)), env: env}}
	}
	t.Cleanup(func() {
		for _, r := range reps {
			if r.cmd != nil && r.cmd.ProcessState == nil {
				_ = r.cmd.Process.Kill()
				_ = r.cmd.Wait()
			}
		}
	})
	start := func(r *replica) {
		r.start()
		r.base.Store("http://" + r.addr)
		r.alive.Store(true)
	}
	owner, inbox := clusterSetup(t, reps, start, dns)
	st, m := reps[0].post("/v1/tokens", owner, map[string]any{"inbox_id": inbox, "label": "haproxy", "scopes": []string{"email:read", "email:send"}})
	if st != 201 {
		t.Fatalf("token: %d %v", st, m)
	}
	agent := m["token"].(string)

	// HAProxy in front of both.
	addrs := haproxyAddrs{SMTP: freeAddr(t), HTTP: freeAddr(t)}
	for _, r := range reps {
		addrs.Replicas = append(addrs.Replicas, struct{ SMTP, HTTP string }{r.smtpAddr, r.addr})
	}
	cfgPath := filepath.Join(dir, "haproxy.cfg")
	f, err := os.Create(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := template.Must(template.New("cfg").Parse(haproxyConfig)).Execute(f, addrs); err != nil {
		t.Fatal(err)
	}
	f.Close()
	hout := &syncBuffer{}
	hcmd := osexec.Command(hap, "-db", "-f", cfgPath)
	hcmd.Stdout, hcmd.Stderr = hout, hout
	if err := hcmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = hcmd.Process.Kill(); _ = hcmd.Wait() })
	// Ready when both replicas are up behind it.
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://" + addrs.HTTP + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("haproxy not ready: %v\n%s", err, hout.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(1500 * time.Millisecond) // both servers checked up (rise 2 × 500ms)

	smtpSend := func(id string) error {
		conn, err := dialFrom("127.0.0.2", addrs.SMTP)
		if err != nil {
			return err
		}
		c := smtp.NewClient(conn)
		defer c.Close()
		if err := c.Hello("client.example"); err != nil {
			return err
		}
		if err := c.Mail("ada@client.example", nil); err != nil {
			return err
		}
		if err := c.Rcpt("agent@mail.example.com", nil); err != nil {
			return err
		}
		w, err := c.Data()
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "From: ada@client.example\r\nTo: agent@mail.example.com\r\nSubject: %s\r\nMessage-ID: <%s@haproxy.test>\r\n\r\nvia haproxy\r\n", id, id)
		if err := w.Close(); err != nil {
			return err
		}
		return c.Quit()
	}
	api := func(method, path string, body any) (int, map[string]any, error) {
		return do(method, "http://"+addrs.HTTP+path, agent, body)
	}
	sendAPI := func(subj string) error {
		st, m, err := api("POST", "/v1/inboxes/"+inbox+"/messages/send", map[string]any{"to": "ann@example.net", "subject": subj, "text": "x"})
		if err != nil {
			return err
		}
		if st != 202 {
			return fmt.Errorf("send %s: %d %v", subj, st, m)
		}
		return nil
	}

	// Traffic through both replicas.
	for i := 0; i < 6; i++ {
		if err := smtpSend(fmt.Sprintf("before-%d", i)); err != nil {
			t.Fatalf("SMTP through haproxy: %v\n%s", err, hout.String())
		}
		if err := sendAPI(fmt.Sprintf("before-%d", i)); err != nil {
			t.Fatalf("API through haproxy: %v", err)
		}
	}
	pg, err := store.Connect(context.Background(), url, 2, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Pool.Close()
	var auth []struct {
		Subject string
		SPF     string
		Raw     []byte
	}
	pg.DB.Raw(`SELECT subject, auth->>'spf' AS spf, raw FROM messages WHERE direction = 'inbound' ORDER BY subject`).Scan(&auth)
	if len(auth) != 6 {
		t.Fatalf("%d inbound messages stored, want 6", len(auth))
	}
	for _, a := range auth {
		if a.SPF != "pass" || !strings.Contains(string(a.Raw), "[127.0.0.2]") {
			t.Fatalf("%s: SPF %s; gentd did not see the client behind the balancer:\n%s", a.Subject, a.SPF, a.Raw)
		}
	}
	// The API saw the client too (X-Forwarded-For from the trusted balancer).
	req, _ := http.NewRequest("POST", "http://"+addrs.HTTP+"/v1/auth/login",
		strings.NewReader(`{"email":"owner@acme.test","password":"correct horse battery"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Forwarded-For", "198.51.100.66") // the client's own claim: replaced by haproxy
	hc := http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		return dialFrom("127.0.0.3", addr)
	}}}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var remote string
	pg.DB.Raw(`SELECT remote_addr FROM audit_log WHERE action = 'auth.login' ORDER BY created_at DESC LIMIT 1`).Scan(&remote)
	if resp.StatusCode != 200 || remote != "127.0.0.3" {
		t.Fatalf("login through haproxy: %d, audited from %q, want 127.0.0.3", resp.StatusCode, remote)
	}

	// Stop one replica: traffic continues on the other.
	reps[1].stop(syscall.SIGKILL)
	for i := 0; i < 6; i++ {
		if err := smtpSend(fmt.Sprintf("after-%d", i)); err != nil {
			t.Fatalf("SMTP through haproxy after a replica stopped: %v\n%s", err, hout.String())
		}
		if err := sendAPI(fmt.Sprintf("after-%d", i)); err != nil {
			t.Fatalf("API through haproxy after a replica stopped: %v", err)
		}
		if st, _, err := api("GET", "/v1/token", nil); err != nil || st != 200 {
			t.Fatalf("GET /v1/token through haproxy after a replica stopped: %d %v", st, err)
		}
	}
	var n int64
	pg.DB.Raw(`SELECT count(*) FROM messages WHERE direction = 'inbound'`).Scan(&n)
	if n != 12 {
		t.Fatalf("%d inbound messages stored, want 12", n)
	}
	deadline = time.Now().Add(30 * time.Second)
	for len(sink.Messages()) < 12 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if got := len(sink.Messages()); got != 12 {
		t.Fatalf("%d sends delivered, want 12", got)
	}
	reps[0].stop(syscall.SIGTERM)
}
