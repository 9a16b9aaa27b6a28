package api

import (
	"net"
	"strings"

	"github.com/gofiber/fiber/v2"

	"gent/daemon/config"
)

// The client's address behind reverse proxies (docs/operations.md,
// "Behind a reverse proxy").
//
// From a peer outside http.trusted_proxies the client is the peer, and no
// header is read. From a trusted peer, the header named by
// http.proxy_header (X-Forwarded-For, or the for= parameters of RFC 7239
// Forwarded; every line of it, in order) lists the hops, the nearest last.
// They are read from the right: each trusted proxy is skipped, and the
// first address that is not one is the client. Whatever a client wrote
// into the header itself sits to the left of what its proxy appended, so
// it is never believed; a proxy that replaces the header works as well.
// A hop that is not an address ("unknown", an obfuscated name, garbage)
// ends the walk at the hop to its right.

const clientIPKey = "client_ip"

// proxies is what the API knows of its reverse proxies.
type proxies struct {
	trusted []*net.IPNet
	header  string // config.HeaderXForwardedFor or config.HeaderForwarded
}

func newProxies(cfg config.HTTP) proxies {
	nets, _ := config.ParseCIDRs(cfg.TrustedProxies) // checked at config load
	return proxies{trusted: nets, header: cfg.ProxyHeader}
}

func (p proxies) isTrusted(ip net.IP) bool {
	for _, n := range p.trusted {
		if n.Contains(ip) {
			return true
		}
	}
	return false
}

// resolveClient is the first middleware: it settles the request's client
// address once, for clientIP.
func (p proxies) resolveClient(c *fiber.Ctx) error {
	c.Locals(clientIPKey, p.client(c).String())
	return c.Next()
}

// clientIP is the address the request came from, as the access log, the
// audit trail and login throttling record it.
func clientIP(c *fiber.Ctx) string {
	if ip, ok := c.Locals(clientIPKey).(string); ok {
		return ip
	}
	return c.Context().RemoteIP().String()
}

func (p proxies) client(c *fiber.Ctx) net.IP {
	peer := c.Context().RemoteIP()
	if len(p.trusted) == 0 || !p.isTrusted(peer) {
		return peer
	}
	var hops []string
	for _, line := range c.Request().Header.PeekAll(p.header) {
		if p.header == config.HeaderForwarded {
			hops = append(hops, forwardedFor(string(line))...)
		} else {
			hops = append(hops, strings.Split(string(line), ",")...)
		}
	}
	client := peer
	for i := len(hops) - 1; i >= 0; i-- {
		ip := parseHop(hops[i])
		if ip == nil {
			break
		}
		client = ip
		if !p.isTrusted(ip) {
			break
		}
	}
	return client
}

// forwardedFor returns the for= value of each element of a Forwarded
// header line (RFC 7239 section 4), "" for an element without one.
func forwardedFor(line string) []string {
	var out []string
	for _, elem := range splitQuoted(line, ',') {
		v := ""
		for _, pair := range splitQuoted(elem, ';') {
			name, val, ok := strings.Cut(strings.TrimSpace(pair), "=")
			if ok && strings.EqualFold(strings.TrimSpace(name), "for") {
				v = strings.TrimSpace(val)
			}
		}
		out = append(out, v)
	}
	return out
}

// splitQuoted splits s at sep outside double quotes.
func splitQuoted(s string, sep byte) []string {
	var out []string
	quoted, start := false, 0
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '\\' && quoted:
			i++
		case s[i] == '"':
			quoted = !quoted
		case s[i] == sep && !quoted:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// parseHop reads one hop: an IPv4 or IPv6 address, optionally quoted,
// with a port ("192.0.2.1:4711", "[2001:db8::1]:4711") or IPv6 brackets.
func parseHop(h string) net.IP {
	h = strings.TrimSpace(h)
	if len(h) >= 2 && h[0] == '"' && h[len(h)-1] == '"' {
		h = h[1 : len(h)-1]
	}
	if ip := net.ParseIP(h); ip != nil {
		return normIP(ip)
	}
	if host, _, err := net.SplitHostPort(h); err == nil {
		if ip := net.ParseIP(host); ip != nil {
			return normIP(ip)
		}
	}
	if len(h) >= 2 && h[0] == '[' && h[len(h)-1] == ']' {
		if ip := net.ParseIP(h[1 : len(h)-1]); ip != nil {
			return normIP(ip)
		}
	}
	return nil
}

func normIP(ip net.IP) net.IP {
	if v4 := ip.To4(); v4 != nil {
		return v4
	}
	return ip
}
