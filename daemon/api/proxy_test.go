package api_test

import (
	"net/http"
	"strings"
	"testing"

	"gent/daemon/config"
	"gent/daemon/server/servertest"
)

// X-Forwarded-For names the client only when the peer is one of
// http.trusted_proxies; from any other peer the header is ignored and the
// peer's own address is logged and audited.
func TestForwardedForOnlyFromTrustedProxies(t *testing.T) {
	for _, c := range []struct {
		name, trusted, want string
	}{
		{"trusted peer", "127.0.0.0/8", "203.0.113.9"},
		{"untrusted peer", "192.0.2.1", "127.0.0.1"},
	} {
		t.Run(c.name, func(t *testing.T) {
			env := servertest.New(t, func(cfg *config.Config) { cfg.HTTP.TrustedProxies = c.trusted })
			org := env.Setup()
			base := env.Listen()
			body := `{"email":"` + org.OwnerEmail + `","password":"correct horse battery"}`
			req, _ := http.NewRequest("POST", base+"/v1/auth/login", strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("X-Forwarded-For", "203.0.113.9, 198.51.100.1")
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
