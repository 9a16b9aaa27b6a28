// Package dnstest runs a real DNS server (miekg/dns) on loopback for tests:
// one server per test, listening on UDP and TCP at the same 127.0.0.1 port,
// answering authoritatively from records the test sets. Point the daemon's
// dns.resolver at Server.Addr.
//
//	dns := dnstest.New(t)
//	dns.SetTXT("example.com", "v=spf1 a:mx.gent.test -all")
//	dns.AddTXT("sel._domainkey.example.com", "v=DKIM1; k=rsa; p=MIIB…", "…rest")
//	dns.AddMX("example.com", 10, "mx.gent.test")
//	dns.AddA("mx.gent.test", "192.0.2.10")
//	dns.ServFail("_dmarc.example.com")  // answers SERVFAIL
//	dns.NoAnswer("_gent.example.com")   // never answers: the client times out
//
// Answers follow what a recursive resolver returns: the records of the
// asked type (following a CNAME at the name), NOERROR with no answer when
// the name holds other types or has names below it, NXDOMAIN otherwise.
// UDP answers larger than the client's buffer (512 bytes, or its EDNS0
// size) are truncated with the TC bit, so clients must retry over TCP as
// they do with real servers. Names are case-insensitive; a trailing dot is
// optional everywhere. Outside tests, Start and Close run one (cmd/gentbench).
package dnstest

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// TTL of records added by the helpers.
const TTL = 300

// Server is an authoritative DNS server on 127.0.0.1 (UDP and TCP).
type Server struct {
	// Addr is "127.0.0.1:port", served over both UDP and TCP.
	Addr string

	udp, tcp *dns.Server
	queries  atomic.Int64

	mu       sync.Mutex
	records  map[string][]dns.RR // canonical name -> records
	servfail map[string]bool
	drop     map[string]bool
}

// New starts a server for the test and stops it when the test ends.
func New(tb testing.TB) *Server {
	tb.Helper()
	s, err := Start()
	if err != nil {
		tb.Fatalf("%v", err)
	}
	tb.Cleanup(func() { _ = s.Close() })
	return s
}

// Start starts a server outside a test (the load generator uses it); stop
// it with Close.
func Start() (*Server, error) {
	s := &Server{records: map[string][]dns.RR{}, servfail: map[string]bool{}, drop: map[string]bool{}}
	var lastErr error
	for attempt := 0; attempt < 20; attempt++ {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("dnstest: listen udp: %w", err)
		}
		ln, err := net.Listen("tcp", pc.LocalAddr().String())
		if err != nil { // the port is taken for TCP: try another
			pc.Close()
			lastErr = err
			continue
		}
		s.Addr = pc.LocalAddr().String()
		if s.udp, err = serve(&dns.Server{PacketConn: pc, Handler: s}); err != nil {
			ln.Close()
			return nil, err
		}
		if s.tcp, err = serve(&dns.Server{Listener: ln, Handler: s}); err != nil {
			_ = s.udp.Shutdown()
			return nil, err
		}
		return s, nil
	}
	return nil, fmt.Errorf("dnstest: no port free for both UDP and TCP: %w", lastErr)
}

// Close stops the server.
func (s *Server) Close() error {
	return errors.Join(s.udp.Shutdown(), s.tcp.Shutdown())
}

func serve(srv *dns.Server) (*dns.Server, error) {
	started := make(chan struct{})
	failed := make(chan error, 1)
	srv.NotifyStartedFunc = func() { close(started) }
	go func() {
		if err := srv.ActivateAndServe(); err != nil {
			select {
			case <-started:
			default:
				failed <- err
			}
		}
	}()
	select {
	case <-started:
		return srv, nil
	case err := <-failed:
		return nil, fmt.Errorf("dnstest: serve: %w", err)
	case <-time.After(5 * time.Second):
		return nil, errors.New("dnstest: server did not start")
	}
}

func canon(name string) string { return dns.CanonicalName(name) }

func (s *Server) header(name string, typ uint16) dns.RR_Header {
	return dns.RR_Header{Name: canon(name), Rrtype: typ, Class: dns.ClassINET, Ttl: TTL}
}

// Add adds records as they are.
func (s *Server) Add(rrs ...dns.RR) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, rr := range rrs {
		h := rr.Header()
		h.Name = canon(h.Name)
		s.records[h.Name] = append(s.records[h.Name], rr)
	}
}

// AddZone adds the records of a zone file fragment (BIND syntax, one
// record per line; relative names are relative to the root).
func (s *Server) AddZone(text string) error {
	zp := dns.NewZoneParser(strings.NewReader(text), ".", "")
	var rrs []dns.RR
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		rrs = append(rrs, rr)
	}
	if err := zp.Err(); err != nil {
		return fmt.Errorf("dnstest: parse zone: %w", err)
	}
	s.Add(rrs...)
	return nil
}

// SetTXT replaces the TXT records at name: one record per value, each
// value split into strings of at most 255 bytes as DNS requires. With no
// values it removes them.
func (s *Server) SetTXT(name string, values ...string) {
	s.Delete(name, dns.TypeTXT)
	for _, v := range values {
		s.AddTXT(name, SplitTXT(v)...)
	}
}

// AddTXT adds one TXT record made of exactly these character-strings (a
// "multi-string" record; readers join them without separators). A string
// longer than 255 bytes cannot exist in DNS and panics.
func (s *Server) AddTXT(name string, strs ...string) {
	for _, str := range strs {
		if len(str) > 255 {
			panic(fmt.Sprintf("dnstest: TXT string of %d bytes; DNS allows 255 per string (SetTXT splits values)", len(str)))
		}
	}
	s.Add(&dns.TXT{Hdr: s.header(name, dns.TypeTXT), Txt: strs})
}

// AddMX adds an MX record.
func (s *Server) AddMX(name string, pref uint16, host string) {
	s.Add(&dns.MX{Hdr: s.header(name, dns.TypeMX), Preference: pref, Mx: canon(host)})
}

// AddA adds A (IPv4) or AAAA (IPv6) records.
func (s *Server) AddA(name string, addrs ...string) {
	for _, a := range addrs {
		ip := net.ParseIP(a)
		switch {
		case ip == nil:
			panic("dnstest: not an IP address: " + a)
		case ip.To4() != nil:
			s.Add(&dns.A{Hdr: s.header(name, dns.TypeA), A: ip.To4()})
		default:
			s.Add(&dns.AAAA{Hdr: s.header(name, dns.TypeAAAA), AAAA: ip})
		}
	}
}

// AddCNAME makes name an alias of target.
func (s *Server) AddCNAME(name, target string) {
	s.Add(&dns.CNAME{Hdr: s.header(name, dns.TypeCNAME), Target: canon(target)})
}

// Delete removes the records of type qtype at name; dns.TypeNone (0)
// removes every record at name.
func (s *Server) Delete(name string, qtype uint16) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := canon(name)
	if qtype == dns.TypeNone {
		delete(s.records, n)
		return
	}
	kept := s.records[n][:0]
	for _, rr := range s.records[n] {
		if rr.Header().Rrtype != qtype {
			kept = append(kept, rr)
		}
	}
	if len(kept) == 0 {
		delete(s.records, n)
	} else {
		s.records[n] = kept
	}
}

// ServFail makes every query for name answer SERVFAIL.
func (s *Server) ServFail(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.servfail[canon(name)] = true
}

// NoAnswer makes the server drop every query for name, so clients time out.
func (s *Server) NoAnswer(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.drop[canon(name)] = true
}

// Restore undoes ServFail and NoAnswer for name.
func (s *Server) Restore(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.servfail, canon(name))
	delete(s.drop, canon(name))
}

// Queries returns how many queries the server has received.
func (s *Server) Queries() int64 { return s.queries.Load() }

// SplitTXT splits a value into character-strings of at most 255 bytes.
func SplitTXT(v string) []string {
	if v == "" {
		return []string{""}
	}
	var out []string
	for len(v) > 255 {
		out = append(out, v[:255])
		v = v[255:]
	}
	return append(out, v)
}

// ServeDNS answers one query.
func (s *Server) ServeDNS(w dns.ResponseWriter, req *dns.Msg) {
	s.queries.Add(1)
	if len(req.Question) != 1 {
		m := new(dns.Msg)
		m.SetRcode(req, dns.RcodeFormatError)
		_ = w.WriteMsg(m)
		return
	}
	q := req.Question[0]
	name := canon(q.Name)

	s.mu.Lock()
	drop, fail := s.drop[name], s.servfail[name]
	m := new(dns.Msg)
	m.SetReply(req)
	m.Authoritative = true
	m.RecursionAvailable = true
	if !drop && !fail {
		s.answer(m, name, q.Qtype)
	}
	s.mu.Unlock()

	if drop {
		return
	}
	if fail {
		m.Rcode = dns.RcodeServerFailure
	}
	size := dns.MinMsgSize
	if opt := req.IsEdns0(); opt != nil {
		if int(opt.UDPSize()) > size {
			size = int(opt.UDPSize())
		}
		m.SetEdns0(uint16(size), false)
	}
	if _, udp := w.RemoteAddr().(*net.UDPAddr); udp {
		m.Truncate(size)
	} else {
		m.Truncate(dns.MaxMsgSize)
	}
	if err := w.WriteMsg(m); err != nil {
		// Not packable: say so rather than look like a timeout.
		fail := new(dns.Msg)
		fail.SetRcode(req, dns.RcodeServerFailure)
		_ = w.WriteMsg(fail)
	}
}

// answer fills m for name/qtype; s.mu is held.
func (s *Server) answer(m *dns.Msg, name string, qtype uint16) {
	for hops := 0; hops < 8; hops++ {
		rrs := s.records[name]
		var cname *dns.CNAME
		found := false
		for _, rr := range rrs {
			t := rr.Header().Rrtype
			if t == qtype || qtype == dns.TypeANY {
				m.Answer = append(m.Answer, dns.Copy(rr))
				found = true
			}
			if c, ok := rr.(*dns.CNAME); ok {
				cname = c
			}
		}
		if found || cname == nil || qtype == dns.TypeCNAME {
			if len(m.Answer) == 0 && len(rrs) == 0 && !s.hasBelow(name) {
				m.Rcode = dns.RcodeNameError
			}
			return
		}
		m.Answer = append(m.Answer, dns.Copy(cname))
		name = canon(cname.Target)
	}
	m.Rcode = dns.RcodeServerFailure // CNAME loop
}

// hasBelow reports whether some name under name holds records (an empty
// non-terminal, which answers NOERROR rather than NXDOMAIN).
func (s *Server) hasBelow(name string) bool {
	suffix := "." + name
	for n := range s.records {
		if strings.HasSuffix(n, suffix) {
			return true
		}
	}
	return false
}
