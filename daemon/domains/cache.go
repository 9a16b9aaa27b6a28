package domains

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"
	"golang.org/x/sync/singleflight"
)

// answerCache keeps DNS answers for their TTL, as a caching resolver next
// to an MTA would: every inbound message asks for the sender's SPF, DKIM
// key and DMARC policy, and every delivery for an MX, mostly the same few
// names. Positive answers are kept for the smallest TTL among their
// records, "no such name" and "no records of this type" for the negative
// TTL of the zone's SOA (RFC 2308; without an SOA they are not kept), both
// at most maxTTL. Failures (SERVFAIL, timeouts) are never kept. Concurrent
// misses for one question share one query.
type answerCache struct {
	max    int
	maxTTL time.Duration
	now    func() time.Time

	mu      sync.Mutex
	entries map[string]cacheEntry
	flight  singleflight.Group
}

type cacheEntry struct {
	rrs     []dns.RR // nil: the name holds no records of the type
	expires time.Time
}

func newAnswerCache(entries int, maxTTL time.Duration) *answerCache {
	return &answerCache{max: entries, maxTTL: maxTTL, now: time.Now, entries: make(map[string]cacheEntry)}
}

func cacheKey(name string, qtype uint16) string {
	return strconv.Itoa(int(qtype)) + " " + strings.ToLower(name)
}

func (c *answerCache) get(key string) ([]dns.RR, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok {
		return nil, false
	}
	if !c.now().Before(e.expires) {
		delete(c.entries, key)
		return nil, false
	}
	return e.rrs, true
}

func (c *answerCache) put(key string, rrs []dns.RR, ttl time.Duration) {
	ttl = min(ttl, c.maxTTL)
	if ttl <= 0 {
		return
	}
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.entries[key]; !ok && len(c.entries) >= c.max {
		for k, e := range c.entries { // expired answers first
			if !now.Before(e.expires) {
				delete(c.entries, k)
			}
		}
		for k := range c.entries { // then any (map order is random)
			if len(c.entries) < c.max {
				break
			}
			delete(c.entries, k)
		}
	}
	c.entries[key] = cacheEntry{rrs: rrs, expires: now.Add(ttl)}
}

// len reports how many answers are kept (tests).
func (c *answerCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}

// query answers from the cache or asks through fetch, keeping what fetch
// says may be kept.
func (c *answerCache) query(ctx context.Context, name string, qtype uint16,
	fetch func(context.Context) ([]dns.RR, time.Duration, error)) ([]dns.RR, error) {
	key := cacheKey(name, qtype)
	if rrs, ok := c.get(key); ok {
		return rrs, nil
	}
	v, err, _ := c.flight.Do(key, func() (any, error) {
		// Shared by every caller waiting for this question: one leaving
		// must not fail the others (each query is bounded by dns.timeout).
		rrs, ttl, err := fetch(context.WithoutCancel(ctx))
		if err != nil {
			return nil, err
		}
		c.put(key, rrs, ttl)
		return rrs, nil
	})
	if err != nil {
		return nil, err
	}
	return v.([]dns.RR), nil
}

// answerTTL is how long an answer may be kept: the smallest TTL of its
// records, or for an empty answer the SOA's negative TTL (0 without one).
func answerTTL(in *dns.Msg, out []dns.RR) time.Duration {
	var ttl uint32
	if len(out) > 0 {
		ttl = ^uint32(0)
		for _, rr := range in.Answer {
			ttl = min(ttl, rr.Header().Ttl)
		}
		return time.Duration(ttl) * time.Second
	}
	for _, rr := range in.Ns {
		if soa, ok := rr.(*dns.SOA); ok {
			return time.Duration(min(soa.Hdr.Ttl, soa.Minttl)) * time.Second
		}
	}
	return 0
}
