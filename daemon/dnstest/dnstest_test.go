package dnstest_test

import (
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"gent/daemon/dnstest"
)

func ask(t *testing.T, s *dnstest.Server, net, name string, qtype uint16, edns bool) (*dns.Msg, error) {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	if edns {
		m.SetEdns0(4096, false)
	}
	c := &dns.Client{Net: net, Timeout: 300 * time.Millisecond}
	in, _, err := c.Exchange(m, s.Addr)
	return in, err
}

func TestAnswers(t *testing.T) {
	s := dnstest.New(t)
	s.SetTXT("Example.COM.", "v=spf1 -all", strings.Repeat("x", 300))
	s.AddTXT("sel._domainkey.example.com", "abc", "def")
	s.AddMX("example.com", 10, "mx.example.net")
	s.AddA("mx.example.net", "192.0.2.1", "2001:db8::1")
	s.AddCNAME("alias.example.com", "example.com")

	in, err := ask(t, s, "udp", "example.com", dns.TypeTXT, true)
	if err != nil || in.Rcode != dns.RcodeSuccess || len(in.Answer) != 2 {
		t.Fatalf("TXT example.com: %v %v", in, err)
	}
	long := in.Answer[1].(*dns.TXT).Txt
	if len(long) != 2 || len(long[0]) != 255 || strings.Join(long, "") != strings.Repeat("x", 300) {
		t.Errorf("long TXT not split into 255-byte strings: %q", long)
	}
	in, _ = ask(t, s, "tcp", "SEL._domainkey.example.com", dns.TypeTXT, false)
	if got := in.Answer[0].(*dns.TXT).Txt; len(got) != 2 || got[0] != "abc" || got[1] != "def" {
		t.Errorf("multi-string TXT over TCP: %q", got)
	}
	in, _ = ask(t, s, "udp", "example.com", dns.TypeMX, false)
	if mx := in.Answer[0].(*dns.MX); mx.Preference != 10 || mx.Mx != "mx.example.net." {
		t.Errorf("MX: %v", mx)
	}
	in, _ = ask(t, s, "udp", "mx.example.net", dns.TypeAAAA, false)
	if len(in.Answer) != 1 {
		t.Errorf("AAAA: %v", in.Answer)
	}
	in, _ = ask(t, s, "udp", "alias.example.com", dns.TypeMX, false)
	if len(in.Answer) != 2 || in.Answer[0].Header().Rrtype != dns.TypeCNAME {
		t.Errorf("CNAME chase: %v", in.Answer)
	}
	// NODATA, empty non-terminal, NXDOMAIN.
	for _, c := range []struct {
		name  string
		qtype uint16
		rcode int
	}{
		{"mx.example.net", dns.TypeTXT, dns.RcodeSuccess},
		{"_domainkey.example.com", dns.TypeTXT, dns.RcodeSuccess},
		{"nope.example.com", dns.TypeTXT, dns.RcodeNameError},
	} {
		in, _ := ask(t, s, "udp", c.name, c.qtype, false)
		if in.Rcode != c.rcode || len(in.Answer) != 0 {
			t.Errorf("%s: rcode %s, %d answers", c.name, dns.RcodeToString[in.Rcode], len(in.Answer))
		}
	}
	s.Delete("example.com", dns.TypeTXT)
	in, _ = ask(t, s, "udp", "example.com", dns.TypeTXT, false)
	if len(in.Answer) != 0 || in.Rcode != dns.RcodeSuccess {
		t.Errorf("after Delete: %v", in)
	}
	if s.Queries() < 9 {
		t.Errorf("Queries() = %d", s.Queries())
	}
}

func TestFailures(t *testing.T) {
	s := dnstest.New(t)
	s.SetTXT("bad.example.com", "v=spf1 -all")
	s.ServFail("bad.example.com")
	in, err := ask(t, s, "udp", "bad.example.com", dns.TypeTXT, false)
	if err != nil || in.Rcode != dns.RcodeServerFailure {
		t.Fatalf("want SERVFAIL, got %v %v", in, err)
	}
	s.NoAnswer("slow.example.com")
	start := time.Now()
	if _, err := ask(t, s, "udp", "slow.example.com", dns.TypeTXT, false); err == nil {
		t.Fatal("NoAnswer name answered over UDP")
	}
	if _, err := ask(t, s, "tcp", "slow.example.com", dns.TypeTXT, false); err == nil {
		t.Fatal("NoAnswer name answered over TCP")
	}
	if d := time.Since(start); d < 500*time.Millisecond {
		t.Errorf("client gave up after %v, before its timeout", d)
	}
	s.Restore("bad.example.com")
	in, _ = ask(t, s, "udp", "bad.example.com", dns.TypeTXT, false)
	if in.Rcode != dns.RcodeSuccess || len(in.Answer) != 1 {
		t.Errorf("after Restore: %v", in)
	}
}

func TestTruncation(t *testing.T) {
	s := dnstest.New(t)
	for i := 0; i < 5; i++ {
		s.AddTXT("big.example.com", strings.Repeat(string(rune('a'+i)), 200))
	}
	in, err := ask(t, s, "udp", "big.example.com", dns.TypeTXT, false)
	if err != nil || !in.Truncated {
		t.Fatalf("1 KB answer over UDP without EDNS0: want TC, got %v %v", in, err)
	}
	in, _ = ask(t, s, "udp", "big.example.com", dns.TypeTXT, true)
	if in.Truncated || len(in.Answer) != 5 {
		t.Errorf("with EDNS0 4096: truncated=%v answers=%d", in.Truncated, len(in.Answer))
	}
	in, _ = ask(t, s, "tcp", "big.example.com", dns.TypeTXT, false)
	if in.Truncated || len(in.Answer) != 5 {
		t.Errorf("over TCP: truncated=%v answers=%d", in.Truncated, len(in.Answer))
	}
}

func TestAddZone(t *testing.T) {
	s := dnstest.New(t)
	err := s.AddZone(`example.org. 3600 IN TXT "one" "two"
example.org. 3600 IN MX 5 mx.example.org.
`)
	if err != nil {
		t.Fatal(err)
	}
	in, _ := ask(t, s, "udp", "example.org", dns.TypeTXT, false)
	if got := in.Answer[0].(*dns.TXT).Txt; strings.Join(got, "|") != "one|two" {
		t.Errorf("zone TXT: %q", got)
	}
	if err := s.AddZone("example.org. IN BOGUS x"); err == nil {
		t.Error("bad zone text accepted")
	}
}
