package domains_test

import (
	"net"
	"strings"
	"testing"
	"time"

	"gent/daemon/config"
	"gent/daemon/dnstest"
	"gent/daemon/server/servertest"
	"gent/daemon/store/storetest"
	"gent/models"
)

func TestMain(m *testing.M) { storetest.Main(m) }

// host is the daemon's hostname in these tests: the MX target and the host
// SPF must authorise. It has an address in the test DNS.
const (
	host     = "mx.gent.test"
	hostAddr = "192.0.2.10"
)

type harness struct {
	t   *testing.T
	env *servertest.Env
	dns *dnstest.Server
	org servertest.Org
}

func newHarness(t *testing.T, mutate ...func(*config.Config)) *harness {
	t.Helper()
	d := dnstest.New(t)
	d.AddA(host, hostAddr)
	env := servertest.New(t, append([]func(*config.Config){func(c *config.Config) {
		c.Hostname = host
		c.DNS.Resolver = d.Addr
		c.DNS.Timeout = config.Duration(300 * time.Millisecond)
		// These tests are about real domains; the sandbox made at setup
		// is tested in daemon/api/sandbox_test.go.
		c.Sandbox.Domain = ""
	}}, mutate...)...)
	return &harness{t: t, env: env, dns: d, org: env.Setup()}
}

func (h *harness) create(body any, want int) models.Domain {
	h.t.Helper()
	var d models.Domain
	h.env.MustStatus(want, "POST", "/v1/domains", h.org.Owner, body).JSON(h.t, &d)
	return d
}

func (h *harness) verify(id string) models.Domain {
	h.t.Helper()
	var d models.Domain
	h.env.MustStatus(200, "POST", "/v1/domains/"+id+"/verify", h.org.Owner, nil).JSON(h.t, &d)
	return d
}

func (h *harness) get(id string) models.Domain {
	h.t.Helper()
	var d models.Domain
	h.env.MustStatus(200, "GET", "/v1/domains/"+id, h.org.Owner, nil).JSON(h.t, &d)
	return d
}

func (h *harness) zone(id string) string {
	h.t.Helper()
	r := h.env.MustStatus(200, "GET", "/v1/domains/"+id+"/zone", h.org.Owner, nil)
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		h.t.Errorf("zone content type %q", ct)
	}
	return string(r.Body)
}

// publish loads the domain's zone export into the test DNS server, as an
// operator pasting it into their zone would.
func (h *harness) publish(id string) {
	h.t.Helper()
	if err := h.dns.AddZone(h.zone(id)); err != nil {
		h.t.Fatalf("zone export does not parse: %v", err)
	}
}

// rec returns the domain's record for purpose (the RSA one for dkim).
func rec(t *testing.T, d models.Domain, purpose string) models.DNSRecord {
	t.Helper()
	for _, r := range d.Records {
		if r.Purpose == purpose && (purpose != models.PurposeDKIM || strings.Contains(r.Value, "k=rsa")) {
			return r
		}
	}
	t.Fatalf("domain %s has no %s record: %+v", d.Name, purpose, d.Records)
	return models.DNSRecord{}
}

func edRec(t *testing.T, d models.Domain) models.DNSRecord {
	t.Helper()
	for _, r := range d.Records {
		if strings.Contains(r.Value, "k=ed25519") {
			return r
		}
	}
	t.Fatalf("no Ed25519 DKIM record")
	return models.DNSRecord{}
}

func (h *harness) eventTypes() []string {
	h.t.Helper()
	var types []string
	if err := h.env.Store.DB.Raw(`SELECT type FROM events WHERE org_id = ? ORDER BY id`, h.org.ID).Scan(&types).Error; err != nil {
		h.t.Fatal(err)
	}
	return types
}

func count(list []string, v string) int {
	n := 0
	for _, s := range list {
		if s == v {
			n++
		}
	}
	return n
}

func expectStatus(t *testing.T, r models.DNSRecord, status string, detailHas string) {
	t.Helper()
	if r.Status != status {
		t.Errorf("%s record %s: status %s, want %s (detail %q, found %q)", r.Purpose, r.Name, r.Status, status, r.Detail, r.Found)
		return
	}
	if detailHas != "" && !strings.Contains(r.Detail, detailHas) {
		t.Errorf("%s record %s: detail %q does not say %q", r.Purpose, r.Name, r.Detail, detailHas)
	}
}

func isNotFound(err error) bool {
	de, ok := err.(*net.DNSError)
	return ok && de.IsNotFound
}

func isTemporary(err error) bool {
	de, ok := err.(*net.DNSError)
	return ok && de.Temporary()
}
