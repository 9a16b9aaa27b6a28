package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"gent/daemon/dnstest"
	"gent/daemon/smtpsink"
	"gent/models"
)

// Names the harness uses when it runs its own server.
const (
	hostedDomain = "mail.bench.test"   // the inboxes' domain, verified through DNS
	senderDomain = "sender.bench.test" // the domain that signs the load's mail
	senderSel    = "bench"
	mxHost       = "mx.gent.bench.test"
	ownerEmail   = "owner@bench.test"
	ownerPass    = "correct horse battery staple"
)

type inboxInfo struct {
	ID      string `json:"id"`
	Address string `json:"address"`
}

// state is what a data directory keeps between runs (--data-dir), so a
// large seed is made once.
type state struct {
	Zone      string      `json:"zone"`
	SenderKey string      `json:"sender_key"` // PKCS#8 PEM
	Inboxes   []inboxInfo `json:"inboxes"`
	Reader    inboxInfo   `json:"reader"`
	Token     string      `json:"token"`
	DomainID  string      `json:"domain_id"`
}

// server is the system under load: started here, or given by --target.
type server struct {
	smtpAddr  string
	httpURL   string
	pprofAddr string
	session   string
	dbURL     string
	procs     procs
	st        state
	senderKey *rsa.PrivateKey

	dns     *dnstest.Server
	sink    *smtpsink.Sink
	dir     string
	cmd     *exec.Cmd
	exited  chan struct{}
	logFile *os.File
	http    *http.Client
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

func newHTTPClient(conns int) *http.Client {
	return &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{
		MaxIdleConns: conns * 2, MaxIdleConnsPerHost: conns * 2, IdleConnTimeout: time.Minute,
	}}
}

// api calls the REST API; out (if not nil) receives the JSON answer of a
// 2xx.
func (s *server) api(method, path, bearer string, body, out any) (int, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, s.httpURL+path, rd)
	if err != nil {
		return 0, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := s.http.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		return resp.StatusCode, fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, strings.TrimSpace(string(b)))
	}
	if out != nil {
		if s, ok := out.(*string); ok {
			*s = string(b)
			return resp.StatusCode, nil
		}
		if err := json.Unmarshal(b, out); err != nil {
			return resp.StatusCode, fmt.Errorf("%s %s: decode: %w", method, path, err)
		}
	}
	return resp.StatusCode, nil
}

// moduleRoot finds the Gent source tree (to build gentd).
func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("run gentbench from the Gent source tree, or pass --gentd")
	}
	return filepath.Dir(mod), nil
}

// startServer runs gentd with embedded PostgreSQL in dir, a DNS server
// holding the hosted and the sender domains' records, and sets up an
// organization, a verified domain, inboxes and a read token through the
// public API. An existing dir (with state.json) is reused.
func startServer(o *options) (*server, error) {
	s := &server{http: newHTTPClient(o.readers + 8)}
	var err error
	if s.dns, err = dnstest.Start(); err != nil {
		return nil, err
	}
	s.dir = o.dataDir
	fresh := true
	if s.dir == "" {
		if s.dir, err = os.MkdirTemp("", "gentbench-"); err != nil {
			return nil, err
		}
	} else if b, err := os.ReadFile(filepath.Join(s.dir, "state.json")); err == nil {
		if err := json.Unmarshal(b, &s.st); err != nil {
			return nil, fmt.Errorf("read %s/state.json: %w", s.dir, err)
		}
		fresh = false
	}
	// The cluster runs as the postgres user when we are root; it must reach
	// the directory.
	if err := os.MkdirAll(s.dir, 0o755); err != nil {
		return nil, err
	}
	_ = os.Chmod(s.dir, 0o755)

	bin := o.gentd
	if bin == "" {
		root, err := moduleRoot()
		if err != nil {
			return nil, err
		}
		bin = filepath.Join(s.dir, "gentd")
		build := exec.Command("go", "build", "-o", bin, "./cmd/gentd")
		build.Dir = root
		if out, err := build.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("build gentd: %v\n%s", err, out)
		}
	}

	if fresh {
		key, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return nil, err
		}
		der, _ := x509.MarshalPKCS8PrivateKey(key)
		s.st.SenderKey = string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	}
	if err := s.loadSenderKey(); err != nil {
		return nil, err
	}
	s.publishSender()
	if s.sink, err = smtpsink.Start(); err != nil {
		return nil, err
	}
	s.dns.AddMX(sinkDomain, 10, sinkMX)
	s.dns.AddA(sinkMX, "127.0.0.1")
	s.dns.AddA(mxHost, "127.0.0.1")
	if s.st.Zone != "" {
		if err := s.dns.AddZone(s.st.Zone); err != nil {
			return nil, err
		}
	}

	if err := s.launch(o, bin); err != nil {
		return nil, err
	}
	if fresh {
		if err := s.setup(o); err != nil {
			s.stop()
			return nil, err
		}
		b, _ := json.MarshalIndent(s.st, "", "  ")
		if err := os.WriteFile(filepath.Join(s.dir, "state.json"), b, 0o600); err != nil {
			s.stop()
			return nil, err
		}
	} else if err := s.login(); err != nil {
		s.stop()
		return nil, err
	}
	pw, err := os.ReadFile(filepath.Join(s.dir, "data", "postgres.password"))
	if err == nil {
		pid, _ := os.ReadFile(s.procs.pgPidFile)
		lines := strings.Split(string(pid), "\n")
		if len(lines) > 3 {
			u := url.URL{Scheme: "postgres", User: url.UserPassword("gent", strings.TrimSpace(string(pw))),
				Host: "127.0.0.1:" + strings.TrimSpace(lines[3]), Path: "/gent", RawQuery: "sslmode=disable"}
			s.dbURL = u.String()
		}
	}
	return s, nil
}

func (s *server) loadSenderKey() error {
	blk, _ := pem.Decode([]byte(s.st.SenderKey))
	if blk == nil {
		return errors.New("state.json: bad sender key")
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return err
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return errors.New("state.json: sender key is not RSA")
	}
	s.senderKey = rk
	return nil
}

// publishSender puts the sending domain's SPF, DKIM and DMARC records in
// DNS, so every message the load sends passes all three for real.
func (s *server) publishSender() {
	pub, _ := x509.MarshalPKIXPublicKey(&s.senderKey.PublicKey)
	s.dns.SetTXT(senderDomain, "v=spf1 ip4:127.0.0.1 -all")
	s.dns.SetTXT(senderSel+"._domainkey."+senderDomain, "v=DKIM1; k=rsa; p="+base64.StdEncoding.EncodeToString(pub))
	s.dns.SetTXT("_dmarc."+senderDomain, "v=DMARC1; p=reject")
}

func (s *server) launch(o *options, bin string) error {
	httpAddr, err := freeAddr()
	if err != nil {
		return err
	}
	if s.smtpAddr, err = freeAddr(); err != nil {
		return err
	}
	if s.pprofAddr, err = freeAddr(); err != nil {
		return err
	}
	s.httpURL = "http://" + httpAddr
	s.logFile, err = os.OpenFile(filepath.Join(s.dir, "gentd.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(),
		"GENT_DATA_DIR="+filepath.Join(s.dir, "data"),
		"GENT_DATABASE_URL=",
		"GENT_HOSTNAME="+mxHost,
		"GENT_HTTP_ADDR="+httpAddr,
		"GENT_SMTP_ADDR="+s.smtpAddr,
		"GENT_DNS_RESOLVER="+s.dns.Addr,
		"GENT_DEBUG_PPROF_ADDR="+s.pprofAddr,
		"GENT_METRICS_ADDR=127.0.0.1:0",
		// The load comes from one address and one credential.
		"GENT_HTTP_RATE_LIMIT_PER_MINUTE=0",
		"GENT_SMTP_MAX_CONNECTIONS="+strconv.Itoa(o.idleSMTP+o.conns+100),
		"GENT_SMTP_MAX_CONNECTIONS_PER_IP="+strconv.Itoa(o.idleSMTP+o.conns+100),
		"GENT_OUTBOUND_PORT="+strconv.Itoa(s.sink.Port),
		"GENT_OUTBOUND_RATE_PER_MINUTE=0",
		"GENT_OUTBOUND_RECIPIENTS_PER_DAY=0",
		"GENT_LOG_LEVEL="+o.logLevel,
	)
	cmd.Env = append(cmd.Env, o.serverEnv...)
	cmd.Stdout, cmd.Stderr = s.logFile, s.logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start gentd: %w", err)
	}
	s.cmd = cmd
	s.procs = procs{gentd: cmd.Process.Pid, pgPidFile: filepath.Join(s.dir, "data", "postgres", "data", "postmaster.pid")}
	exited := make(chan struct{})
	s.exited = exited
	go func() { _ = cmd.Wait(); close(exited) }()
	deadline := time.Now().Add(120 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return fmt.Errorf("gentd exited; see %s/gentd.log", s.dir)
		default:
		}
		resp, err := s.http.Get(s.httpURL + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	s.stop()
	return fmt.Errorf("gentd did not become ready; see %s/gentd.log", s.dir)
}

func (s *server) login() error {
	var sess models.SessionResponse
	if _, err := s.api("POST", "/v1/auth/login", "", models.LoginRequest{Email: ownerEmail, Password: ownerPass}, &sess); err != nil {
		return err
	}
	s.session = sess.Token
	return nil
}

// setup creates the organization, verifies the hosted domain through DNS
// (its zone export published in the harness's DNS server), and creates
// the inboxes and the reader's token.
func (s *server) setup(o *options) error {
	code, err := os.ReadFile(filepath.Join(s.dir, "data", "setup-code"))
	if err != nil {
		return fmt.Errorf("read setup code: %w", err)
	}
	var sess models.SessionResponse
	if _, err := s.api("POST", "/v1/auth/setup", "", models.SetupRequest{SetupCode: strings.TrimSpace(string(code)),
		OrgName: "Bench", Email: ownerEmail, Password: ownerPass}, &sess); err != nil {
		return err
	}
	s.session = sess.Token
	var d models.Domain
	if _, err := s.api("POST", "/v1/domains", s.session, models.CreateDomainRequest{Domain: hostedDomain}, &d); err != nil {
		return err
	}
	s.st.DomainID = d.ID
	if _, err := s.api("GET", "/v1/domains/"+d.ID+"/zone", s.session, nil, &s.st.Zone); err != nil {
		return err
	}
	if err := s.dns.AddZone(s.st.Zone); err != nil {
		return err
	}
	if _, err := s.api("POST", "/v1/domains/"+d.ID+"/verify", s.session, nil, &d); err != nil {
		return err
	}
	if d.Status != "verified" {
		return fmt.Errorf("domain %s not verified after publishing its zone: %s", hostedDomain, d.Status)
	}
	for i := 0; i < o.maxInboxes(); i++ {
		var in models.Inbox
		if _, err := s.api("POST", "/v1/inboxes", s.session, models.CreateInboxRequest{Address: fmt.Sprintf("agent%d@%s", i, hostedDomain)}, &in); err != nil {
			return err
		}
		s.st.Inboxes = append(s.st.Inboxes, inboxInfo{ID: in.ID, Address: in.Address})
	}
	var in models.Inbox
	if _, err := s.api("POST", "/v1/inboxes", s.session, models.CreateInboxRequest{Address: "reader@" + hostedDomain}, &in); err != nil {
		return err
	}
	s.st.Reader = inboxInfo{ID: in.ID, Address: in.Address}
	var tok models.TokenSecret
	if _, err := s.api("POST", "/v1/tokens", s.session, models.CreateTokenRequest{InboxID: in.ID, Label: "gentbench",
		Scopes: []string{models.ScopeEmailRead, models.ScopeEmailSend}}, &tok); err != nil {
		return err
	}
	s.st.Token = tok.Secret
	return nil
}

// ensureInboxes creates inboxes up to n (a reused data dir may hold fewer).
func (s *server) ensureInboxes(n int) error {
	for i := len(s.st.Inboxes); i < n; i++ {
		if s.session == "" {
			return fmt.Errorf("need %d inboxes, the target has %d", n, len(s.st.Inboxes))
		}
		var in models.Inbox
		if _, err := s.api("POST", "/v1/inboxes", s.session, models.CreateInboxRequest{Address: fmt.Sprintf("agent%d@%s", i, hostedDomain)}, &in); err != nil {
			return err
		}
		s.st.Inboxes = append(s.st.Inboxes, inboxInfo{ID: in.ID, Address: in.Address})
	}
	return nil
}

// stop ends gentd (SIGTERM: it stops its PostgreSQL too).
func (s *server) stop() {
	if s.cmd != nil && s.cmd.Process != nil {
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.exited:
		case <-time.After(60 * time.Second):
			_ = s.cmd.Process.Kill()
			<-s.exited
		}
	}
	if s.logFile != nil {
		s.logFile.Close()
	}
	if s.dns != nil {
		_ = s.dns.Close()
	}
	if s.sink != nil {
		_ = s.sink.Close()
	}
}

// targetServer is a server already running (--target): gentbench only
// drives it; CPU and memory are measured when --server-pid is given.
func targetServer(o *options) (*server, error) {
	s := &server{smtpAddr: o.target, httpURL: strings.TrimSuffix(o.httpURL, "/"), http: newHTTPClient(o.readers + 8),
		dbURL: o.databaseURL, pprofAddr: o.pprofAddr}
	s.procs.gentd = o.serverPid
	s.st.Token = o.token
	if s.httpURL != "" && o.token != "" {
		var who models.WhoAmI
		if _, err := s.api("GET", "/v1/token", o.token, nil, &who); err != nil {
			return nil, err
		}
		s.st.Reader = inboxInfo{ID: who.InboxID, Address: who.Address}
	}
	for _, r := range o.rcpts {
		s.st.Inboxes = append(s.st.Inboxes, inboxInfo{Address: r})
	}
	if len(s.st.Inboxes) == 0 && s.st.Reader.Address != "" {
		s.st.Inboxes = []inboxInfo{s.st.Reader}
	}
	if o.senderKey != "" {
		b, err := os.ReadFile(o.senderKey)
		if err != nil {
			return nil, err
		}
		s.st.SenderKey = string(b)
		if err := s.loadSenderKey(); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// lookupTXT asks the harness's DNS server.
func (s *server) lookupTXT(name string) ([]string, error) {
	r := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, s.dns.Addr)
	}}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return r.LookupTXT(ctx, name)
}

// ctxSleep waits d or until ctx ends.
func ctxSleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}
