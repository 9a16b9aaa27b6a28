package smtpin

import (
	"bytes"
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"time"

	"blitiri.com.ar/go/spf"
	"github.com/emersion/go-msgauth/dkim"
	"github.com/emersion/go-msgauth/dmarc"
	"golang.org/x/net/publicsuffix"

	"gent/models"
)

// Bounds of the authentication checks.
const (
	// maxDKIMSignatures is how many DKIM signatures of a message are
	// verified (go-msgauth's MaxVerifications); more are ignored.
	maxDKIMSignatures = 5
	// authBudget bounds all the DNS work for one message.
	authBudget = 20 * time.Second
)

// Resolver answers the lookups of the SPF, DKIM and DMARC checks through
// dns.resolver (domains.Resolver; *net.Resolver has the same methods).
type Resolver interface {
	LookupTXT(ctx context.Context, name string) ([]string, error)
	LookupMX(ctx context.Context, name string) ([]*net.MX, error)
	LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error)
	LookupAddr(ctx context.Context, addr string) ([]string, error)
}

// authChecker runs SPF, DKIM and DMARC through one resolver.
type authChecker struct {
	resolver Resolver
	timeout  time.Duration // per DNS query
	hostname string        // authserv-id of the summary
}

// lookupTXT is a TXT lookup bounded by the per-query timeout.
func (a *authChecker) lookupTXT(ctx context.Context) func(string) ([]string, error) {
	return func(name string) ([]string, error) {
		qctx, cancel := context.WithTimeout(ctx, a.timeout)
		defer cancel()
		return a.resolver.LookupTXT(qctx, name)
	}
}

// spfResolver bounds every SPF lookup by the per-query timeout.
type spfResolver struct{ a *authChecker }

func (r spfResolver) ctx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, r.a.timeout)
}

func (r spfResolver) LookupTXT(ctx context.Context, name string) ([]string, error) {
	ctx, cancel := r.ctx(ctx)
	defer cancel()
	return r.a.resolver.LookupTXT(ctx, name)
}

func (r spfResolver) LookupMX(ctx context.Context, name string) ([]*net.MX, error) {
	ctx, cancel := r.ctx(ctx)
	defer cancel()
	return r.a.resolver.LookupMX(ctx, name)
}

func (r spfResolver) LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error) {
	ctx, cancel := r.ctx(ctx)
	defer cancel()
	return r.a.resolver.LookupIPAddr(ctx, host)
}

func (r spfResolver) LookupAddr(ctx context.Context, addr string) ([]string, error) {
	ctx, cancel := r.ctx(ctx)
	defer cancel()
	return r.a.resolver.LookupAddr(ctx, addr)
}

// authInput is what the checks look at.
type authInput struct {
	IP       net.IP
	Helo     string
	MailFrom string // envelope sender, "" for bounces
	Raw      []byte // the message as received
	// FromDomains are the domains of the From header (DMARC needs exactly
	// one).
	FromDomains []string
}

// dkimResult is one signature's verdict.
type dkimResult struct {
	Domain string
	Result string
}

func domainOf(addr string) string {
	if i := strings.LastIndexByte(addr, '@'); i >= 0 {
		return strings.TrimSuffix(strings.ToLower(addr[i+1:]), ".")
	}
	return ""
}

// OrgDomain is the organizational domain of RFC 7489 section 3.2: the
// registrable domain by the Public Suffix List (golang.org/x/net/
// publicsuffix), or the last two labels when the list has no answer.
func OrgDomain(d string) string {
	d = strings.TrimSuffix(strings.ToLower(d), ".")
	if od, err := publicsuffix.EffectiveTLDPlusOne(d); err == nil {
		return od
	}
	labels := strings.Split(d, ".")
	if len(labels) <= 2 {
		return d
	}
	return strings.Join(labels[len(labels)-2:], ".")
}

// aligned reports DMARC identifier alignment (RFC 7489 section 3.1).
func aligned(a, b string, mode dmarc.AlignmentMode) bool {
	if a == "" || b == "" {
		return false
	}
	if mode == dmarc.AlignmentStrict {
		return strings.EqualFold(a, b)
	}
	return OrgDomain(a) == OrgDomain(b)
}

// check runs SPF and DKIM concurrently, then DMARC on their results.
func (a *authChecker) check(ctx context.Context, in authInput) models.AuthResults {
	ctx, cancel := context.WithTimeout(ctx, authBudget)
	defer cancel()

	spfDomain := domainOf(in.MailFrom)
	sender := in.MailFrom
	if spfDomain == "" {
		spfDomain = strings.ToLower(strings.TrimSuffix(in.Helo, "."))
		sender = "postmaster@" + spfDomain
	}
	var wg sync.WaitGroup
	var spfRes string
	var dkimRes []dkimResult
	wg.Add(2)
	go func() {
		defer wg.Done()
		spfRes = a.checkSPF(ctx, in.IP, in.Helo, sender)
	}()
	go func() {
		defer wg.Done()
		dkimRes = a.checkDKIM(ctx, in.Raw)
	}()
	wg.Wait()

	res := models.AuthResults{SPF: spfRes, DKIM: "none"}
	var passDomains []string
	var parts []string
	parts = append(parts, "spf="+spfRes+" smtp.mailfrom="+spfDomain)
	rank := map[string]int{"none": 0, "permerror": 1, "temperror": 2, "fail": 3, "pass": 4}
	for _, d := range dkimRes {
		if rank[d.Result] > rank[res.DKIM] {
			res.DKIM = d.Result
		}
		if d.Result == "pass" {
			passDomains = append(passDomains, d.Domain)
		}
		parts = append(parts, "dkim="+d.Result+" header.d="+d.Domain)
	}
	if len(dkimRes) == 0 {
		parts = append(parts, "dkim=none")
	}
	dm, policy, fromDomain := a.checkDMARC(ctx, in.FromDomains, spfRes, spfDomain, passDomains)
	res.DMARC, res.DMARCPolicy = dm, policy
	p := "dmarc=" + dm
	if fromDomain != "" {
		if policy != "" {
			p += " (p=" + policy + ")"
		}
		p += " header.from=" + fromDomain
	}
	parts = append(parts, p)
	res.Summary = a.hostname + "; " + strings.Join(parts, "; ")
	return res
}

func (a *authChecker) checkSPF(ctx context.Context, ip net.IP, helo, sender string) string {
	if ip == nil {
		return string(spf.None)
	}
	r, _ := spf.CheckHostWithSender(ip, strings.TrimSuffix(helo, "."), sender,
		spf.WithResolver(spfResolver{a}), spf.WithContext(ctx),
		// RFC 7208 section 4.6.4: at most 10 DNS-querying terms, 2 void lookups.
		spf.OverrideLookupLimit(10), spf.OverrideVoidLookupLimit(2))
	if r == "" {
		return string(spf.None)
	}
	return string(r)
}

func (a *authChecker) checkDKIM(ctx context.Context, raw []byte) []dkimResult {
	verifs, err := dkim.VerifyWithOptions(bytes.NewReader(raw), &dkim.VerifyOptions{
		LookupTXT: a.lookupTXT(ctx), MaxVerifications: maxDKIMSignatures,
	})
	if err != nil && !errors.Is(err, dkim.ErrTooManySignatures) {
		// The header could not be read at all: no verdict to give.
		return nil
	}
	var out []dkimResult
	for _, v := range verifs {
		r := "pass"
		switch {
		case v.Err == nil:
		case dkim.IsTempFail(v.Err):
			r = "temperror"
		case dkim.IsPermFail(v.Err):
			r = "permerror"
		default:
			r = "fail"
		}
		out = append(out, dkimResult{Domain: strings.ToLower(v.Domain), Result: r})
	}
	return out
}

// checkDMARC looks the policy up for the From domain, falling back to its
// organizational domain, and checks SPF and DKIM alignment with the
// record's modes. It returns the result, the applicable policy and the
// From domain.
func (a *authChecker) checkDMARC(ctx context.Context, fromDomains []string, spfRes, spfDomain string, dkimPass []string) (string, string, string) {
	if len(fromDomains) != 1 || fromDomains[0] == "" {
		// RFC 7489 section 6.6.1: no single author domain, nothing to check.
		if len(fromDomains) > 1 {
			return "permerror", "", ""
		}
		return "none", "", ""
	}
	from := fromDomains[0]
	opts := &dmarc.LookupOptions{LookupTXT: a.lookupTXT(ctx)}
	rec, err := dmarc.LookupWithOptions(from, opts)
	sub := false
	if errors.Is(err, dmarc.ErrNoPolicy) {
		if org := OrgDomain(from); org != from {
			rec, err = dmarc.LookupWithOptions(org, opts)
			sub = true
		}
	}
	switch {
	case errors.Is(err, dmarc.ErrNoPolicy):
		return "none", "", from
	case dmarc.IsTempFail(err):
		return "temperror", "", from
	case err != nil:
		return "permerror", "", from
	}
	policy := rec.Policy
	if sub && rec.SubdomainPolicy != "" {
		policy = rec.SubdomainPolicy
	}
	pass := spfRes == string(spf.Pass) && aligned(spfDomain, from, rec.SPFAlignment)
	for _, d := range dkimPass {
		if aligned(d, from, rec.DKIMAlignment) {
			pass = true
		}
	}
	if pass {
		return "pass", string(policy), from
	}
	return "fail", string(policy), from
}
