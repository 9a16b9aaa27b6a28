package events

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"syscall"
	"time"
)

// Webhook targets must be public addresses unless
// webhooks.allow_private_targets is set: a URL must not let an
// organization's admin make the daemon call its own network (SSRF). The
// check runs when a webhook is created (on every address its host
// resolves to) and again on the address each delivery actually connects
// to, so a name that later resolves elsewhere is refused too.

// blockedPrefixes are special-purpose ranges that the netip predicates do
// not cover.
var blockedPrefixes = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),       // "this network"
	netip.MustParsePrefix("100.64.0.0/10"),   // shared address space (carrier-grade NAT)
	netip.MustParsePrefix("192.0.0.0/24"),    // IETF protocol assignments
	netip.MustParsePrefix("192.0.2.0/24"),    // documentation
	netip.MustParsePrefix("198.18.0.0/15"),   // benchmarking
	netip.MustParsePrefix("198.51.100.0/24"), // documentation
	netip.MustParsePrefix("203.0.113.0/24"),  // documentation
	netip.MustParsePrefix("240.0.0.0/4"),     // reserved, and broadcast
	netip.MustParsePrefix("64:ff9b::/96"),    // NAT64: may embed a private IPv4 address
	netip.MustParsePrefix("64:ff9b:1::/48"),  // local-use NAT64
	netip.MustParsePrefix("100::/64"),        // discard-only
	netip.MustParsePrefix("2001:db8::/32"),   // documentation
	netip.MustParsePrefix("2002::/16"),       // 6to4: may embed a private IPv4 address
	netip.MustParsePrefix("fec0::/10"),       // deprecated site-local
}

// blockedReason says why ip may not be a webhook target ("" if it may).
func blockedReason(ip netip.Addr) string {
	ip = ip.Unmap()
	switch {
	case !ip.IsValid():
		return "not an IP address"
	case ip.IsUnspecified():
		return "an unspecified address"
	case ip.IsLoopback():
		return "a loopback address"
	case ip.IsPrivate():
		return "a private address"
	case ip.IsMulticast():
		return "a multicast address"
	case ip.IsLinkLocalUnicast():
		return "a link-local address"
	}
	for _, p := range blockedPrefixes {
		if p.Contains(ip) {
			return "a reserved address (" + p.String() + ")"
		}
	}
	return ""
}

// targetError is a refused target.
type targetError struct {
	host, ip, reason string
}

func (e *targetError) Error() string {
	if e.host != "" && e.host != e.ip {
		return fmt.Sprintf("%s resolves to %s, %s; webhooks.allow_private_targets is off", e.host, e.ip, e.reason)
	}
	return fmt.Sprintf("%s is %s; webhooks.allow_private_targets is off", e.ip, e.reason)
}

// checkHost resolves host and refuses it if any of its addresses is not
// public.
func checkHost(ctx context.Context, r *net.Resolver, host string) error {
	if ip, err := netip.ParseAddr(host); err == nil {
		if why := blockedReason(ip); why != "" {
			return &targetError{ip: ip.String(), reason: why}
		}
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	addrs, err := r.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return fmt.Errorf("%s does not resolve", host)
	}
	if len(addrs) == 0 {
		return fmt.Errorf("%s has no addresses", host)
	}
	for _, ip := range addrs {
		if why := blockedReason(ip); why != "" {
			return &targetError{host: host, ip: ip.Unmap().String(), reason: why}
		}
	}
	return nil
}

// dialControl refuses connections to non-public addresses; it sees the
// address after DNS resolution, just before connect(2).
func dialControl(network, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return fmt.Errorf("refused: %q is not an IP address", host)
	}
	if why := blockedReason(ip); why != "" {
		return &targetError{ip: ip.Unmap().String(), reason: why}
	}
	return nil
}
