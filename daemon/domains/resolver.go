package domains

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sort"
	"strings"
	"time"

	"github.com/miekg/dns"

	"gent/daemon/config"
	"gent/models"
)

// Resolver asks the DNS server of dns.resolver (or the system's servers
// from /etc/resolv.conf when it is empty) with miekg/dns: UDP with EDNS0,
// retried over TCP when the answer is truncated, each query bounded by
// dns.timeout.
//
// Its Lookup methods have the signatures of *net.Resolver and return
// *net.DNSError in the same cases (IsNotFound for NXDOMAIN and empty
// answers, IsTimeout, IsTemporary for SERVFAIL), so SPF, DKIM and DMARC
// libraries (blitiri.com.ar/go/spf, emersion/go-msgauth) can use it.
type Resolver struct {
	servers []string
	timeout time.Duration
	cache   *answerCache // nil: every lookup asks
}

// NewResolver builds a resolver from the dns configuration section.
func NewResolver(cfg config.DNS) (*Resolver, error) {
	r := &Resolver{timeout: cfg.Timeout.D()}
	if r.timeout <= 0 {
		r.timeout = 5 * time.Second
	}
	if cfg.Resolver != "" {
		r.servers = []string{cfg.Resolver}
		return r, nil
	}
	cc, err := dns.ClientConfigFromFile("/etc/resolv.conf")
	if err != nil || len(cc.Servers) == 0 {
		// Lookups then fail with a clear error rather than stopping start-up.
		return r, nil
	}
	for _, s := range cc.Servers {
		r.servers = append(r.servers, net.JoinHostPort(s, cc.Port))
	}
	return r, nil
}

// Cached returns a resolver asking the same servers that keeps up to
// entries answers, each for its TTL and at most maxTTL (see answerCache).
// With entries or maxTTL at 0 it returns r itself. Domain verification
// uses the uncached resolver: an owner who has just published a record
// must not be shown an answer from before.
func (r *Resolver) Cached(entries int, maxTTL time.Duration) *Resolver {
	if entries <= 0 || maxTTL <= 0 {
		return r
	}
	c := *r
	c.cache = newAnswerCache(entries, maxTTL)
	return &c
}

// Servers returns the servers the resolver asks, in order.
func (r *Resolver) Servers() []string { return r.servers }

// Query asks for the records of type qtype at name. A name that does not
// exist, or holds no records of that type, gives (nil, nil); failures are
// *net.DNSError. The records may be shared with other callers (a cached
// resolver's): they must not be modified.
func (r *Resolver) Query(ctx context.Context, name string, qtype uint16) ([]dns.RR, error) {
	name = dns.Fqdn(name)
	if _, ok := dns.IsDomainName(name); !ok {
		return nil, &net.DNSError{Err: "invalid domain name", Name: name}
	}
	if len(r.servers) == 0 {
		return nil, &net.DNSError{Err: "no DNS server configured (set dns.resolver)", Name: name}
	}
	if r.cache != nil {
		return r.cache.query(ctx, name, qtype, func(ctx context.Context) ([]dns.RR, time.Duration, error) {
			return r.ask(ctx, name, qtype)
		})
	}
	rrs, _, err := r.ask(ctx, name, qtype)
	return rrs, err
}

// ask sends the question to the servers in turn, and says for how long
// the answer may be kept.
func (r *Resolver) ask(ctx context.Context, name string, qtype uint16) ([]dns.RR, time.Duration, error) {
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	m.RecursionDesired = true
	m.SetEdns0(4096, false)
	var lastErr error
	for _, srv := range r.servers {
		in, err := r.exchange(ctx, m, srv)
		if err != nil {
			lastErr = err
			if ctx.Err() != nil {
				break
			}
			continue
		}
		switch in.Rcode {
		case dns.RcodeSuccess:
			var out []dns.RR
			for _, rr := range in.Answer {
				if rr.Header().Rrtype == qtype {
					out = append(out, rr)
				}
			}
			return out, answerTTL(in, out), nil
		case dns.RcodeNameError:
			return nil, answerTTL(in, nil), nil
		case dns.RcodeServerFailure:
			lastErr = &net.DNSError{Err: "server misbehaving (SERVFAIL)", Name: name, Server: srv, IsTemporary: true}
		default:
			lastErr = &net.DNSError{Err: "server answered " + dns.RcodeToString[in.Rcode], Name: name, Server: srv}
		}
	}
	return nil, 0, lastErr
}

func (r *Resolver) exchange(ctx context.Context, m *dns.Msg, srv string) (*dns.Msg, error) {
	name := m.Question[0].Name
	qctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	c := &dns.Client{Net: "udp", Timeout: r.timeout, UDPSize: 4096}
	in, _, err := c.ExchangeContext(qctx, m, srv)
	if err == nil && in.Truncated {
		tc := &dns.Client{Net: "tcp", Timeout: r.timeout}
		in, _, err = tc.ExchangeContext(qctx, m, srv)
	}
	if err != nil {
		var ne net.Error
		if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
			return nil, &net.DNSError{Err: fmt.Sprintf("no answer within %s", r.timeout), Name: name, Server: srv,
				IsTimeout: true, IsTemporary: true}
		}
		return nil, &net.DNSError{Err: err.Error(), Name: name, Server: srv, IsTemporary: true}
	}
	return in, nil
}

func notFound(name string) error {
	return &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
}

// LookupTXT returns the TXT records at name, each record's strings joined.
func (r *Resolver) LookupTXT(ctx context.Context, name string) ([]string, error) {
	rrs, err := r.Query(ctx, name, dns.TypeTXT)
	if err != nil {
		return nil, err
	}
	if len(rrs) == 0 {
		return nil, notFound(name)
	}
	out := make([]string, 0, len(rrs))
	for _, rr := range rrs {
		out = append(out, strings.Join(rr.(*dns.TXT).Txt, ""))
	}
	return out, nil
}

// LookupMX returns the MX records at name, by preference.
func (r *Resolver) LookupMX(ctx context.Context, name string) ([]*net.MX, error) {
	rrs, err := r.Query(ctx, name, dns.TypeMX)
	if err != nil {
		return nil, err
	}
	if len(rrs) == 0 {
		return nil, notFound(name)
	}
	out := make([]*net.MX, 0, len(rrs))
	for _, rr := range rrs {
		mx := rr.(*dns.MX)
		out = append(out, &net.MX{Host: mx.Mx, Pref: mx.Preference})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Pref < out[j].Pref })
	return out, nil
}

// LookupIPAddr returns the A and AAAA addresses of host.
func (r *Resolver) LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error) {
	if ip := net.ParseIP(host); ip != nil {
		return []net.IPAddr{{IP: ip}}, nil
	}
	var out []net.IPAddr
	var firstErr error
	for _, t := range []uint16{dns.TypeA, dns.TypeAAAA} {
		rrs, err := r.Query(ctx, host, t)
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		for _, rr := range rrs {
			switch v := rr.(type) {
			case *dns.A:
				out = append(out, net.IPAddr{IP: v.A})
			case *dns.AAAA:
				out = append(out, net.IPAddr{IP: v.AAAA})
			}
		}
	}
	if len(out) > 0 {
		return out, nil
	}
	if firstErr != nil {
		return nil, firstErr
	}
	return nil, notFound(host)
}

// LookupAddr returns the PTR names of an address.
func (r *Resolver) LookupAddr(ctx context.Context, addr string) ([]string, error) {
	rev, err := dns.ReverseAddr(addr)
	if err != nil {
		return nil, &net.DNSError{Err: "not an IP address", Name: addr}
	}
	rrs, err := r.Query(ctx, rev, dns.TypePTR)
	if err != nil {
		return nil, err
	}
	if len(rrs) == 0 {
		return nil, notFound(rev)
	}
	out := make([]string, 0, len(rrs))
	for _, rr := range rrs {
		out = append(out, rr.(*dns.PTR).Ptr)
	}
	return out, nil
}

// LookupErrorKind classifies a lookup failure for the record report:
// models.LookupTimeout, models.LookupServFail or models.LookupError.
func LookupErrorKind(err error) string {
	var de *net.DNSError
	switch {
	case errors.As(err, &de) && de.IsTimeout:
		return models.LookupTimeout
	case errors.As(err, &de) && strings.Contains(de.Err, "SERVFAIL"):
		return models.LookupServFail
	default:
		return models.LookupError
	}
}
