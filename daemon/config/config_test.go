package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func write(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "gent.toml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDefaultsMatchDesign(t *testing.T) {
	c, err := Load("", env(nil))
	if err != nil {
		t.Fatal(err)
	}
	checks := map[string][2]any{
		"data_dir":                       {c.DataDir, "./var"},
		"hostname":                       {c.Hostname, "mx.gent.localhost"},
		"http.addr":                      {c.HTTP.Addr, "127.0.0.1:8080"},
		"smtp.addr":                      {c.SMTP.Addr, "127.0.0.1:2525"},
		"smtp.max_message_bytes":         {c.SMTP.MaxMessageBytes, int64(26214400)},
		"database.url":                   {c.Database.URL, ""},
		"dns.resolver":                   {c.DNS.Resolver, ""},
		"outbound.mode":                  {c.Outbound.Mode, "direct"},
		"outbound.port":                  {c.Outbound.Port, 25},
		"outbound.give_up_after":         {c.Outbound.GiveUpAfter.D(), 120 * time.Hour},
		"approvals.expire_after":         {c.Approvals.ExpireAfter.D(), 72 * time.Hour},
		"webhooks.allow_private_targets": {c.Webhooks.AllowPrivateTargets, false},
		"security.master_key":            {c.Security.MasterKey, ""},
	}
	for k, v := range checks {
		if v[0] != v[1] {
			t.Errorf("%s: default %v, want %v", k, v[0], v[1])
		}
	}
}

func TestPrecedenceFileThenEnv(t *testing.T) {
	p := write(t, "hostname = \"mx.file.test\"\n[http]\naddr = \"127.0.0.1:9000\"\n[smtp]\naddr = \"127.0.0.1:2600\"\n")
	c, err := Load(p, env(map[string]string{"GENT_HTTP_ADDR": "127.0.0.1:9100", "GENT_OUTBOUND_GIVE_UP_AFTER": "2h",
		"GENT_WEBHOOKS_ALLOW_PRIVATE_TARGETS": "true"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Hostname != "mx.file.test" || c.SMTP.Addr != "127.0.0.1:2600" {
		t.Errorf("file values not applied: %+v", c)
	}
	if c.HTTP.Addr != "127.0.0.1:9100" {
		t.Errorf("env must override file: %s", c.HTTP.Addr)
	}
	if c.Outbound.GiveUpAfter.D() != 2*time.Hour || !c.Webhooks.AllowPrivateTargets {
		t.Errorf("env values not applied: %+v", c.Outbound)
	}
}

func TestErrorsNameKeyAndLine(t *testing.T) {
	cases := []struct {
		name, file string
		env        map[string]string
		want       []string
	}{
		{"unknown key", "hostname = \"a.test\"\n[http]\nadress = \"x\"\n", nil, []string{"line 3", "http.adress", "unknown key"}},
		{"unknown section", "[smpt]\naddr = \"x\"\n", nil, []string{"line", "smpt"}},
		{"bad type", "[smtp]\nmax_message_bytes = \"big\"\n", nil, []string{"line 2", "max_message_bytes"}},
		{"bad duration", "[approvals]\nexpire_after = \"soon\"\n", nil, []string{"line 2", "expire_after", "duration"}},
		{"bad value", "\n[outbound]\nmode = \"carrier-pigeon\"\n", nil, []string{"line 3", "outbound.mode"}},
		{"bad addr", "[http]\naddr = \"nowhere\"\n", nil, []string{"line 2", "http.addr"}},
		{"syntax", "hostname = \n", nil, []string{"line 1"}},
		{"bad env int", "", map[string]string{"GENT_OUTBOUND_PORT": "twenty-five"}, []string{"GENT_OUTBOUND_PORT", "outbound.port"}},
		{"bad env bool", "", map[string]string{"GENT_WEBHOOKS_ALLOW_PRIVATE_TARGETS": "perhaps"}, []string{"GENT_WEBHOOKS_ALLOW_PRIVATE_TARGETS"}},
		{"bad master key", "[security]\nmaster_key = \"short\"\n", nil, []string{"security.master_key", "line 2"}},
		{"relay without addr", "[outbound]\nmode = \"relay\"\n", nil, []string{"outbound.relay_addr"}},
		{"pprof not loopback", "[debug]\npprof_addr = \"0.0.0.0:6060\"\n", nil, []string{"debug.pprof_addr", "line 2", "loopback"}},
		{"pprof bad addr", "", map[string]string{"GENT_DEBUG_PPROF_ADDR": "6060"}, []string{"debug.pprof_addr"}},
		{"bad shared_buffers", "[database]\nshared_buffers = \"lots\"\n", nil, []string{"database.shared_buffers", "line 2"}},
		{"bad dns cache", "", map[string]string{"GENT_DNS_CACHE_ENTRIES": "-1"}, []string{"dns.cache_entries"}},
		{"bad outbound workers", "[outbound]\nworkers = 0\n", nil, []string{"outbound.workers", "line 2"}},
		{"bad sandbox domain", "[sandbox]\ndomain = \"localhost\"\n", nil, []string{"sandbox.domain", "line 2"}},
		{"bad sandbox env", "", map[string]string{"GENT_SANDBOX_DOMAIN": "sand box.test"}, []string{"sandbox.domain"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := ""
			if tc.file != "" {
				p = write(t, tc.file)
			}
			_, err := Load(p, env(tc.env))
			if err == nil {
				t.Fatal("want an error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestMissingFile(t *testing.T) {
	if _, err := Load(filepath.Join(t.TempDir(), "nope.toml"), env(nil)); err == nil {
		t.Fatal("want an error for a missing file")
	}
}

// The example file documents every key and holds the defaults.
func TestExampleDocumentsEveryKey(t *testing.T) {
	p := "../../config.example.toml"
	c, err := Load(p, env(nil))
	if err != nil {
		t.Fatalf("config.example.toml does not load: %v", err)
	}
	if c != Default() {
		t.Errorf("config.example.toml differs from the defaults:\n%+v\n%+v", c, Default())
	}
	b, _ := os.ReadFile(p)
	for _, k := range Keys() {
		if findKeyLine(b, k) == 0 {
			t.Errorf("config.example.toml does not document %s", k)
		}
	}
}

// The rescue time of orphaned jobs follows the delivery attempt's timeout
// unless jobs.rescue_after overrides it; an override must outlast one
// attempt.
func TestRescueAfterFollowsAttemptTimeout(t *testing.T) {
	c, err := Load("", env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.RescueAfter(), 2*(2*30*time.Second+3*5*time.Minute); got != want {
		t.Errorf("default rescue time %s, want %s", got, want)
	}
	c, err = Load("", env(map[string]string{"GENT_OUTBOUND_CONNECT_TIMEOUT": "1s", "GENT_OUTBOUND_COMMAND_TIMEOUT": "2s"}))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.RescueAfter(); got != 16*time.Second {
		t.Errorf("rescue time with 1s/2s timeouts: %s, want 16s", got)
	}
	c, err = Load("", env(map[string]string{"GENT_JOBS_RESCUE_AFTER": "1h"}))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.RescueAfter(); got != time.Hour {
		t.Errorf("configured rescue time: %s, want 1h", got)
	}
	_, err = Load("", env(map[string]string{"GENT_OUTBOUND_CONNECT_TIMEOUT": "1s", "GENT_OUTBOUND_COMMAND_TIMEOUT": "2s",
		"GENT_JOBS_RESCUE_AFTER": "8s"}))
	if err == nil || !strings.Contains(err.Error(), "jobs.rescue_after") {
		t.Errorf("rescue_after shorter than an attempt: want an error naming jobs.rescue_after, got %v", err)
	}
}

// sandbox.domain: the default, a file's empty value and the environment
// (set but empty, or "off") turn it off; names are lower-cased.
func TestSandboxDomain(t *testing.T) {
	if d := Default().Sandbox.Domain; d != "sandbox.gent.localhost" {
		t.Errorf("default sandbox.domain %q", d)
	}
	c, err := Load(write(t, "[sandbox]\ndomain = \"\"\n"), env(nil))
	if err != nil || c.Sandbox.Domain != "" {
		t.Errorf("empty in the file: %q %v", c.Sandbox.Domain, err)
	}
	c, err = Load("", env(map[string]string{"GENT_SANDBOX_DOMAIN": "Try.Example.Test."}))
	if err != nil || c.Sandbox.Domain != "try.example.test" {
		t.Errorf("from the environment: %q %v", c.Sandbox.Domain, err)
	}
	lookup := func(vars map[string]string) func(string) (string, bool) {
		return func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
	}
	for _, vars := range []map[string]string{{"GENT_SANDBOX_DOMAIN": ""}, {"GENT_SANDBOX_DOMAIN": "off"}} {
		c, err = Load("", Getenv(lookup(vars)))
		if err != nil || c.Sandbox.Domain != "" {
			t.Errorf("%v: %q %v", vars, c.Sandbox.Domain, err)
		}
	}
	// metrics.addr: on by default; empty or "off" turns it off.
	if c, err = Load("", Getenv(lookup(nil))); err != nil || c.Metrics.Addr != "127.0.0.1:9464" {
		t.Errorf("default metrics.addr: %q %v", c.Metrics.Addr, err)
	}
	for _, vars := range []map[string]string{{"GENT_METRICS_ADDR": ""}, {"GENT_METRICS_ADDR": "off"}} {
		c, err = Load("", Getenv(lookup(vars)))
		if err != nil || c.Metrics.Addr != "" {
			t.Errorf("%v: %q %v", vars, c.Metrics.Addr, err)
		}
	}
	if _, err = Load("", Getenv(lookup(map[string]string{"GENT_METRICS_ADDR": "9464"}))); err == nil || !strings.Contains(err.Error(), "metrics.addr") {
		t.Errorf("bad metrics.addr: %v", err)
	}
	// Other variables set but empty are unset, as before.
	c, err = Load("", Getenv(lookup(map[string]string{"GENT_HTTP_ADDR": ""})))
	if err != nil || c.HTTP.Addr != Default().HTTP.Addr || c.Sandbox.Domain != "sandbox.gent.localhost" {
		t.Errorf("empty GENT_HTTP_ADDR: %q %q %v", c.HTTP.Addr, c.Sandbox.Domain, err)
	}
}

// http.proxy_header names X-Forwarded-For (the default) or Forwarded, in
// any case; anything else is refused, naming the key.
func TestProxyHeader(t *testing.T) {
	for v, want := range map[string]string{"": HeaderXForwardedFor, "forwarded": HeaderForwarded, "x-forwarded-for": HeaderXForwardedFor} {
		c, err := Load("", env(map[string]string{"GENT_HTTP_PROXY_HEADER": v}))
		if err != nil || c.HTTP.ProxyHeader != want {
			t.Errorf("GENT_HTTP_PROXY_HEADER=%q: %q %v", v, c.HTTP.ProxyHeader, err)
		}
	}
	if _, err := Load("", env(map[string]string{"GENT_HTTP_PROXY_HEADER": "X-Real-IP"})); err == nil || !strings.Contains(err.Error(), "http.proxy_header") {
		t.Errorf("X-Real-IP: %v", err)
	}
}
