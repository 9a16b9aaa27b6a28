package domains

import (
	"context"
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"

	"gent/daemon/config"
	"gent/daemon/dnstest"
)

// fakeClock drives a cache's expiry.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func cachedResolver(t *testing.T, srv *dnstest.Server, entries int, maxTTL time.Duration) (*Resolver, *fakeClock) {
	t.Helper()
	r, err := NewResolver(config.DNS{Resolver: srv.Addr, Timeout: config.Duration(300 * time.Millisecond)})
	if err != nil {
		t.Fatal(err)
	}
	c := r.Cached(entries, maxTTL)
	clock := &fakeClock{t: time.Unix(1_800_000_000, 0)}
	c.cache.now = clock.now
	return c, clock
}

func txt(t *testing.T, r *Resolver, name string) string {
	t.Helper()
	v, err := r.LookupTXT(context.Background(), name)
	if err != nil {
		t.Fatalf("LookupTXT %s: %v", name, err)
	}
	return v[0]
}

func TestCacheKeepsAnswersForTheirTTL(t *testing.T) {
	srv := dnstest.New(t)
	srv.SetTXT("_dmarc.example.com", "v=DMARC1; p=reject")
	r, clock := cachedResolver(t, srv, 100, time.Hour)

	if got := txt(t, r, "_dmarc.example.com"); got != "v=DMARC1; p=reject" {
		t.Fatalf("first answer %q", got)
	}
	asked := srv.Queries()
	srv.SetTXT("_dmarc.example.com", "v=DMARC1; p=none")
	// Case and the trailing dot do not make another question.
	if got := txt(t, r, "_DMARC.Example.com."); got != "v=DMARC1; p=reject" {
		t.Fatalf("within the TTL the kept answer is expected, got %q", got)
	}
	if srv.Queries() != asked {
		t.Fatalf("a kept answer was asked again: %d queries, want %d", srv.Queries(), asked)
	}
	clock.add(dnstest.TTL*time.Second - time.Second)
	if got := txt(t, r, "_dmarc.example.com"); got != "v=DMARC1; p=reject" {
		t.Fatalf("1 s before the TTL ends: %q", got)
	}
	clock.add(time.Second)
	if got := txt(t, r, "_dmarc.example.com"); got != "v=DMARC1; p=none" {
		t.Fatalf("after the TTL the new record is expected, got %q", got)
	}
	if srv.Queries() != asked+1 {
		t.Fatalf("queries %d, want %d", srv.Queries(), asked+1)
	}

	// The uncached resolver it came from always asks.
	base := *r
	base.cache = nil
	srv.SetTXT("_dmarc.example.com", "v=DMARC1; p=quarantine")
	if got := txt(t, &base, "_dmarc.example.com"); got != "v=DMARC1; p=quarantine" {
		t.Fatalf("uncached resolver answered %q", got)
	}
}

func TestCacheBounds(t *testing.T) {
	srv := dnstest.New(t)
	srv.SetTXT("a.example.com", "a")
	srv.SetTXT("b.example.com", "b")
	srv.SetTXT("c.example.com", "c")

	// cache_max_ttl caps a long TTL.
	r, clock := cachedResolver(t, srv, 2, 10*time.Second)
	txt(t, r, "a.example.com")
	srv.SetTXT("a.example.com", "a2")
	clock.add(10 * time.Second)
	if got := txt(t, r, "a.example.com"); got != "a2" {
		t.Fatalf("answer kept past cache_max_ttl: %q", got)
	}
	// At most cache_entries answers are kept.
	txt(t, r, "b.example.com")
	txt(t, r, "c.example.com")
	if n := r.cache.len(); n != 2 {
		t.Fatalf("cache holds %d answers, want 2", n)
	}

	// A record with TTL 0 is not kept.
	srv.Add(&dns.TXT{Hdr: dns.RR_Header{Name: "zero.example.com.", Rrtype: dns.TypeTXT, Class: dns.ClassINET}, Txt: []string{"z"}})
	txt(t, r, "zero.example.com")
	asked := srv.Queries()
	txt(t, r, "zero.example.com")
	if srv.Queries() != asked+1 {
		t.Fatal("a TTL-0 answer was kept")
	}

	// Off: Cached(0, …) is the resolver itself.
	if u := r.Cached(0, time.Minute); u != r {
		t.Fatal("Cached(0, …) should return the resolver unchanged")
	}
}

func TestCacheDoesNotKeepFailuresOrUnprovenAbsence(t *testing.T) {
	srv := dnstest.New(t)
	r, _ := cachedResolver(t, srv, 100, time.Hour)
	ctx := context.Background()

	srv.ServFail("_dmarc.example.org")
	_, err := r.LookupTXT(ctx, "_dmarc.example.org")
	var de *net.DNSError
	if !errors.As(err, &de) || !de.IsTemporary {
		t.Fatalf("SERVFAIL: want a temporary DNS error, got %v", err)
	}
	srv.Restore("_dmarc.example.org")
	srv.SetTXT("_dmarc.example.org", "v=DMARC1; p=none")
	if got := txt(t, r, "_dmarc.example.org"); got != "v=DMARC1; p=none" {
		t.Fatalf("after SERVFAIL cleared: %q", got)
	}

	// NXDOMAIN without an SOA in the answer says nothing of how long the
	// name stays absent: it is not kept.
	if _, err := r.LookupTXT(ctx, "new.example.org"); !errors.As(err, &de) || !de.IsNotFound {
		t.Fatalf("absent name: %v", err)
	}
	srv.SetTXT("new.example.org", "here")
	if got := txt(t, r, "new.example.org"); got != "here" {
		t.Fatalf("a name published after an NXDOMAIN: %q", got)
	}
}

func TestAnswerTTL(t *testing.T) {
	hdr := func(name string, typ uint16, ttl uint32) dns.RR_Header {
		return dns.RR_Header{Name: name, Rrtype: typ, Class: dns.ClassINET, Ttl: ttl}
	}
	cname := &dns.CNAME{Hdr: hdr("a.example.", dns.TypeCNAME, 60), Target: "b.example."}
	rec := &dns.TXT{Hdr: hdr("b.example.", dns.TypeTXT, 3600), Txt: []string{"x"}}
	m := &dns.Msg{Answer: []dns.RR{cname, rec}}
	if got := answerTTL(m, []dns.RR{rec}); got != time.Minute {
		t.Errorf("positive answer through a CNAME: %s, want the smallest TTL (1m0s)", got)
	}
	soa := &dns.SOA{Hdr: hdr("example.", dns.TypeSOA, 900), Minttl: 300}
	if got := answerTTL(&dns.Msg{Ns: []dns.RR{soa}}, nil); got != 5*time.Minute {
		t.Errorf("negative answer: %s, want min(SOA TTL, minimum) = 5m0s", got)
	}
	if got := answerTTL(&dns.Msg{}, nil); got != 0 {
		t.Errorf("negative answer without SOA: %s, want 0", got)
	}
}

func TestCacheSharesConcurrentMisses(t *testing.T) {
	srv := dnstest.New(t)
	srv.SetTXT("sel._domainkey.example.net", "v=DKIM1; p=")
	r, _ := cachedResolver(t, srv, 100, time.Hour)
	before := srv.Queries()
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := r.LookupTXT(context.Background(), "sel._domainkey.example.net"); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if n := srv.Queries() - before; n != 1 {
		t.Fatalf("20 concurrent lookups of one name asked %d times, want 1", n)
	}
}
