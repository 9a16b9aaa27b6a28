package api_test

import (
	"net/http"
	"strings"
	"testing"

	"gent/daemon/config"
	"gent/daemon/server/servertest"
)

// The client's address is read from the proxy header only when the peer
// is one of http.trusted_proxies, and then from the right: trusted
// proxies are skipped and the first other address is the client, so an
// address a client wrote into the header before its proxy appended the
// real one is never believed. From any other peer the header is ignored
// and the peer's own address is logged and audited. http.proxy_header
// chooses X-Forwarded-For or RFC 7239 Forwarded; the other is not read.
func TestForwardedForOnlyFromTrustedProxies(t *testing.T) {
	for _, c := range []struct {
		name, trusted, header string
		lines                 map[string][]string
		want                  string
	}{
		{"trusted peer", "127.0.0.0/8", "", map[string][]string{"X-Forwarded-For": {"198.51.100.1"}}, "198.51.100.1"},
		{"client-written address before the proxy's", "127.0.0.0/8", "",
			map[string][]string{"X-Forwarded-For": {"203.0.113.9, 198.51.100.1"}}, "198.51.100.1"},
		{"client-written header line before the proxy's", "127.0.0.0/8", "",
			map[string][]string{"X-Forwarded-For": {"203.0.113.9", "198.51.100.1"}}, "198.51.100.1"},
		{"chain of trusted proxies", "127.0.0.0/8, 10.0.0.0/8", "",
			map[string][]string{"X-Forwarded-For": {"203.0.113.9, 198.51.100.1, 10.1.2.3"}}, "198.51.100.1"},
		{"port and IPv6", "127.0.0.0/8", "", map[string][]string{"X-Forwarded-For": {"[2001:db8::7]:4711"}}, "2001:db8::7"},
		{"not an address", "127.0.0.0/8", "", map[string][]string{"X-Forwarded-For": {"203.0.113.9, unknown"}}, "127.0.0.1"},
		{"untrusted peer", "192.0.2.1", "", map[string][]string{"X-Forwarded-For": {"203.0.113.9, 198.51.100.1"}}, "127.0.0.1"},
		{"Forwarded", "127.0.0.0/8", "Forwarded", map[string][]string{
			"Forwarded":       {`for=203.0.113.9, for="[2001:db8::7]:4711";proto=https;by=127.0.0.1`},
			"X-Forwarded-For": {"198.51.100.1"}}, "2001:db8::7"},
		{"Forwarded not read by default", "127.0.0.0/8", "", map[string][]string{"Forwarded": {"for=203.0.113.9"}}, "127.0.0.1"},
		{"X-Forwarded-For not read with Forwarded", "127.0.0.0/8", "forwarded", map[string][]string{
			"X-Forwarded-For": {"198.51.100.1"}}, "127.0.0.1"},
	} {
		t.Run(c.name, func(t *testing.T) {
			env := servertest.New(t, func(cfg *config.Config) {
				cfg.HTTP.TrustedProxies = c.trusted
				if c.header != "" {
					cfg.HTTP.ProxyHeader = c.header
				}
			})
			org := env.Setup()
			base := env.Listen()
			body := `{"email":"` + org.OwnerEmail + `","password":"correct horse battery"}`
			req, _ := http.NewRequest("POST", base+"/v1/auth/login", strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			for k, vs := range c.lines {
				for _, v := range vs {
					req.Header.Add(k, v)
				}
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Fatalf("login: %d", resp.StatusCode)
			}
			var addr string
			if err := env.Store.DB.Raw(`SELECT remote_addr FROM audit_log WHERE action = 'auth.login' ORDER BY created_at DESC LIMIT 1`).
				Scan(&addr).Error; err != nil {
				t.Fatal(err)
			}
			if addr != c.want {
				t.Fatalf("audited remote address %q, want %q", addr, c.want)
			}
		})
	}
}
