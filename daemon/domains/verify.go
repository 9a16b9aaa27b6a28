package domains

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"

	"blitiri.com.ar/go/spf"
	"github.com/miekg/dns"

	"gent/models"
)

// lookup is the outcome of one DNS query: the records found (TXT strings
// joined; MX as "pref host") or the failure.
type lookup struct {
	values []string
	mx     []*net.MX
	err    error
}

func (s *Service) lookupTXT(ctx context.Context, name string) lookup {
	rrs, err := s.resolver.Query(ctx, name, dns.TypeTXT)
	if err != nil {
		return lookup{err: err}
	}
	l := lookup{values: []string{}}
	for _, rr := range rrs {
		l.values = append(l.values, strings.Join(rr.(*dns.TXT).Txt, ""))
	}
	return l
}

func (s *Service) lookupMX(ctx context.Context, name string) lookup {
	rrs, err := s.resolver.Query(ctx, name, dns.TypeMX)
	if err != nil {
		return lookup{err: err}
	}
	l := lookup{values: []string{}}
	for _, rr := range rrs {
		mx := rr.(*dns.MX)
		l.mx = append(l.mx, &net.MX{Host: strings.ToLower(strings.TrimSuffix(mx.Mx, ".")), Pref: mx.Preference})
		l.values = append(l.values, fmt.Sprintf("%d %s", mx.Preference, strings.TrimSuffix(mx.Mx, ".")))
	}
	return l
}

// check queries DNS for every record of the domain and returns them with
// their status. Lookups run in parallel, so a check takes about one
// dns.timeout at worst.
func (s *Service) check(ctx context.Context, r *domainRow) []models.DNSRecord {
	recs := expectedRecords(r, s.hostname)
	results := make([]lookup, len(recs))
	var wg sync.WaitGroup
	for i, rec := range recs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if rec.Type == "MX" {
				results[i] = s.lookupMX(ctx, rec.Name)
			} else {
				results[i] = s.lookupTXT(ctx, rec.Name)
			}
		}()
	}
	wg.Wait()
	var mx lookup
	for i, rec := range recs {
		if rec.Purpose == models.PurposeMX {
			mx = results[i]
		}
	}
	for i := range recs {
		rec := &recs[i]
		res := results[i]
		rec.Detail = ""
		if res.err != nil {
			rec.Status = models.RecordInvalid
			rec.LookupError = LookupErrorKind(res.err)
			rec.Detail = describeLookupError(rec, res.err)
			continue
		}
		switch {
		case rec.Purpose == models.PurposeOwnership:
			s.judgeOwnership(rec, res)
		case rec.Purpose == models.PurposeMX:
			s.judgeMX(rec, res)
		case rec.Purpose == models.PurposeSPF:
			s.judgeSPF(ctx, rec, res, r, mx)
		case rec.Purpose == models.PurposeDKIM:
			judgeDKIM(rec, res)
		case rec.Purpose == models.PurposeDMARC:
			judgeDMARC(rec, res, r.DMARCPolicy)
		}
	}
	return recs
}

func describeLookupError(rec *models.DNSRecord, err error) string {
	var de *net.DNSError
	server := ""
	if e, ok := err.(*net.DNSError); ok {
		de = e
		if de.Server != "" {
			server = " from " + de.Server
		}
	}
	switch LookupErrorKind(err) {
	case models.LookupTimeout:
		return fmt.Sprintf("DNS lookup of %s %s timed out (no answer%s); the result is unknown and does not count as valid", rec.Type, rec.Name, server)
	case models.LookupServFail:
		return fmt.Sprintf("DNS lookup of %s %s failed: SERVFAIL%s; the result is unknown and does not count as valid", rec.Type, rec.Name, server)
	}
	msg := err.Error()
	if de != nil {
		msg = de.Err
	}
	return fmt.Sprintf("DNS lookup of %s %s failed: %s; the result is unknown and does not count as valid", rec.Type, rec.Name, msg)
}

func (s *Service) judgeOwnership(rec *models.DNSRecord, res lookup) {
	rec.Found = res.values
	for _, v := range res.values {
		if strings.TrimSpace(v) == rec.Value {
			rec.Status = models.RecordValid
			return
		}
	}
	if len(res.values) == 0 {
		rec.Status, rec.Detail = models.RecordPending, "no TXT record at "+rec.Name+" yet"
		return
	}
	rec.Status, rec.Detail = models.RecordInvalid, "no TXT record at "+rec.Name+" holds this domain's token "+rec.Value
}

func (s *Service) judgeMX(rec *models.DNSRecord, res lookup) {
	rec.Found = res.values
	if len(res.mx) == 0 {
		rec.Status, rec.Detail = models.RecordPending, "no MX record at "+rec.Name+" yet; needed to receive mail"
		return
	}
	best := res.mx[0].Pref
	for _, mx := range res.mx {
		best = min(best, mx.Pref)
	}
	for _, mx := range res.mx {
		if mx.Host == s.hostname {
			if mx.Pref == best {
				rec.Status = models.RecordValid
				return
			}
			rec.Status, rec.Detail = models.RecordInvalid, fmt.Sprintf("%s is listed with preference %d, but other hosts have preference %d and receive the mail first", s.hostname, mx.Pref, best)
			return
		}
	}
	rec.Status, rec.Detail = models.RecordInvalid, "the MX records of "+rec.Name+" do not name "+s.hostname+": mail for this domain goes elsewhere"
}

func isSPF(v string) bool {
	l := strings.ToLower(strings.TrimSpace(v))
	return l == "v=spf1" || strings.HasPrefix(l, "v=spf1 ")
}

func (s *Service) judgeSPF(ctx context.Context, rec *models.DNSRecord, res lookup, r *domainRow, mx lookup) {
	var spfs []string
	for _, v := range res.values {
		if isSPF(v) {
			spfs = append(spfs, v)
		}
	}
	rec.Found = spfs
	if rec.Found == nil {
		rec.Found = []string{}
	}
	switch {
	case len(spfs) == 0:
		rec.Status, rec.Detail = models.RecordPending, "no SPF record (v=spf1) at "+rec.Name+" yet"
		return
	case len(spfs) > 1:
		rec.Status = models.RecordInvalid
		rec.Detail = fmt.Sprintf("%d SPF records at %s: RFC 7208 (section 4.5) makes that a permanent error, so no SPF applies; merge them into one record", len(spfs), rec.Name)
		return
	}
	ok, detail, definitive := s.spfAuthorises(spfs[0], r.Name, mx)
	if !ok && !definitive {
		ok, detail = s.spfEvaluate(ctx, r.Name)
	}
	if ok {
		rec.Status, rec.Detail = models.RecordValid, detail
		return
	}
	rec.Status, rec.Detail = models.RecordInvalid, detail
}

// spfAuthorises reads an SPF record's terms in order, as a receiver would,
// up to the first "all": it is valid when a mechanism names the daemon's
// host (a:<hostname>, include:<hostname> or include:_spf.<hostname>, or mx
// when the domain's MX is the daemon). definitive reports a verdict that
// evaluating the record's other mechanisms cannot change.
func (s *Service) spfAuthorises(record, domain string, mx lookup) (ok bool, detail string, definitive bool) {
	terms := strings.Fields(record)
	if len(terms) > 0 {
		terms = terms[1:] // v=spf1
	}
	lookups := 0
	for _, t := range terms {
		if strings.Contains(strings.SplitN(t, ":", 2)[0], "=") {
			mod := strings.ToLower(strings.SplitN(t, "=", 2)[0])
			if mod == "redirect" {
				lookups++
			}
			continue
		}
		qual := byte('+')
		if strings.ContainsRune("+-~?", rune(t[0])) {
			qual, t = t[0], t[1:]
		}
		mech, arg, _ := strings.Cut(strings.ToLower(t), ":")
		if i := strings.IndexByte(mech, '/'); i >= 0 {
			mech = mech[:i]
		}
		if i := strings.IndexByte(arg, '/'); i >= 0 {
			arg = arg[:i]
		}
		arg = strings.TrimSuffix(arg, ".")
		switch mech {
		case "include", "a", "mx", "ptr", "exists":
			lookups++
		case "all", "ip4", "ip6":
		default:
			return false, fmt.Sprintf("unknown SPF mechanism %q: receivers treat the record as a permanent error", t), true
		}
		if lookups > 10 {
			return false, "the record needs more than 10 DNS lookups: RFC 7208 (section 4.6.4) makes that a permanent error", true
		}
		if mech == "all" {
			if qual == '+' {
				return false, "the record ends in +all, which authorises every host on the internet; use ~all or -all", true
			}
			break
		}
		if qual != '+' {
			continue
		}
		names := false
		switch mech {
		case "a":
			names = arg == s.hostname
		case "include":
			names = arg == s.hostname || arg == "_spf."+s.hostname
		case "mx":
			if arg == "" || arg == domain {
				for _, m := range mx.mx {
					names = names || m.Host == s.hostname
				}
			}
		}
		if names {
			return true, "", true
		}
	}
	return false, "the record does not authorise " + s.hostname + ": add a:" + s.hostname + " before its all mechanism", false
}

// spfEvaluate runs the SPF record against the daemon host's addresses
// (RFC 7208 check_host through the configured resolver), for records that
// authorise it by address or through other includes.
func (s *Service) spfEvaluate(ctx context.Context, domain string) (bool, string) {
	addrs, err := s.resolver.LookupIPAddr(ctx, s.hostname)
	if err != nil || len(addrs) == 0 {
		return false, "the record does not name " + s.hostname + " (which has no address to test the record against): add a:" + s.hostname + " before its all mechanism"
	}
	for _, a := range addrs {
		res, _ := spf.CheckHostWithSender(a.IP, s.hostname, "postmaster@"+domain,
			spf.WithResolver(s.resolver), spf.WithContext(ctx))
		if res != spf.Pass {
			return false, fmt.Sprintf("the record gives %s for %s's address %s: add a:%s before its all mechanism", res, s.hostname, a.IP, s.hostname)
		}
	}
	return true, "authorises " + s.hostname + "'s addresses through its other mechanisms"
}

// tags parses a DKIM or DMARC tag list ("v=DKIM1; k=rsa; p=...").
func tags(v string) map[string]string {
	out := map[string]string{}
	for _, part := range strings.Split(v, ";") {
		k, val, ok := strings.Cut(part, "=")
		if !ok {
			continue
		}
		k = strings.ToLower(strings.TrimSpace(k))
		if _, dup := out[k]; !dup {
			out[k] = strings.TrimSpace(val)
		}
	}
	return out
}

func stripSpace(s string) string {
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '\t' || r == '\r' || r == '\n' {
			return -1
		}
		return r
	}, s)
}

func judgeDKIM(rec *models.DNSRecord, res lookup) {
	rec.Found = res.values
	if len(res.values) == 0 {
		rec.Status, rec.Detail = models.RecordPending, "no DKIM record at "+rec.Name+" yet"
		return
	}
	if len(res.values) > 1 {
		rec.Status, rec.Detail = models.RecordInvalid, fmt.Sprintf("%d TXT records at %s: publish exactly one DKIM record there", len(res.values), rec.Name)
		return
	}
	want, got := tags(rec.Value), tags(res.values[0])
	p, hasP := got["p"]
	p = stripSpace(p)
	switch {
	case got["v"] != "" && got["v"] != "DKIM1":
		rec.Status, rec.Detail = models.RecordInvalid, "the record's version is v="+got["v"]+"; want v=DKIM1"
	case !hasP:
		rec.Status, rec.Detail = models.RecordInvalid, "the record has no public key (p=)"
	case p == "":
		rec.Status, rec.Detail = models.RecordInvalid, "the record's key is revoked (empty p=)"
	case p != want["p"]:
		rec.Status, rec.Detail = models.RecordInvalid, "the published public key is not this domain's key"
	case strings.ToLower(keyType(got)) != want["k"]:
		rec.Status, rec.Detail = models.RecordInvalid, "the record's key type is k="+keyType(got)+"; want k="+want["k"]
	default:
		rec.Status = models.RecordValid
	}
}

func keyType(t map[string]string) string {
	if k, ok := t["k"]; ok {
		return k
	}
	return "rsa" // RFC 6376 default
}

var dmarcRank = map[string]int{models.DMARCNone: 0, models.DMARCQuarantine: 1, models.DMARCReject: 2}

func judgeDMARC(rec *models.DNSRecord, res lookup, chosen string) {
	rec.Found = res.values
	var recs []string
	for _, v := range res.values {
		if strings.HasPrefix(strings.ToUpper(stripSpace(v)), "V=DMARC1") {
			recs = append(recs, v)
		}
	}
	switch {
	case len(res.values) == 0:
		rec.Status, rec.Detail = models.RecordPending, "no DMARC record at "+rec.Name+" yet"
		return
	case len(recs) == 0:
		rec.Status, rec.Detail = models.RecordInvalid, "no TXT record at "+rec.Name+" starts with v=DMARC1"
		return
	case len(recs) > 1:
		rec.Status, rec.Detail = models.RecordInvalid, fmt.Sprintf("%d DMARC records at %s: receivers then apply no DMARC policy (RFC 7489, section 6.6.3); keep one", len(recs), rec.Name)
		return
	}
	t := tags(recs[0])
	p, ok := t["p"]
	p = strings.ToLower(p)
	rank, known := dmarcRank[p]
	switch {
	case !ok:
		rec.Status, rec.Detail = models.RecordInvalid, "the DMARC record has no policy (p=)"
		return
	case !known:
		rec.Status, rec.Detail = models.RecordInvalid, "the DMARC record's policy p="+p+" is not none, quarantine or reject"
		return
	case rank < dmarcRank[chosen]:
		rec.Status, rec.Detail = models.RecordInvalid, fmt.Sprintf("the published policy p=%s is weaker than the chosen policy %s; publish p=%s", p, chosen, chosen)
		return
	}
	if pct, ok := t["pct"]; ok && chosen != models.DMARCNone {
		n, err := strconv.Atoi(pct)
		if err != nil || n < 0 || n > 100 {
			rec.Status, rec.Detail = models.RecordInvalid, "the DMARC record's pct="+pct+" is not a number from 0 to 100"
			return
		}
		if n < 100 {
			rec.Status, rec.Detail = models.RecordInvalid, fmt.Sprintf("pct=%d applies p=%s to only %d%% of failing mail, weaker than the chosen policy %s; remove pct or set pct=100", n, p, n, chosen)
			return
		}
	}
	rec.Status = models.RecordValid
	if rank > dmarcRank[chosen] {
		rec.Detail = fmt.Sprintf("the published policy p=%s is stricter than the chosen %s", p, chosen)
	}
}
