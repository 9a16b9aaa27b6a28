package api_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"gent/daemon/config"
	"gent/daemon/dnstest"
	"gent/daemon/server/servertest"
	"gent/models"
)

// The per-credential HTTP limit and the per-inbox send limit are kept in
// PostgreSQL: requests spread over two replicas on one database get the
// limit once, not once per replica, and concurrent sends are counted
// exactly.
func TestRateLimitsSharedAcrossReplicas(t *testing.T) {
	dns := dnstest.New(t)
	envs := servertest.Replicas(t, 2, func(c *config.Config) {
		c.DNS.Resolver, c.DNS.Timeout = dns.Addr, config.Duration(time.Second)
		c.HTTP.RateLimitPerMinute = 20
		c.Outbound.RatePerMinute = 4
	})
	a := envs[0]
	org := a.Setup()
	a.PublishedDomain(org, "mail.example.com", dns)
	in := a.Inbox(org, "agent@mail.example.com")
	reader := a.Token(org, in.ID, []string{"email:read"}).Secret
	sender := a.Token(org, in.ID, servertest.AllScopes()).Secret

	// HTTP: 20 a minute for this token, whichever replica answers.
	for i := 0; i < 20; i++ {
		envs[i%2].MustStatus(200, "GET", "/v1/token", reader, nil)
	}
	for _, e := range envs {
		r := e.Do("GET", "/v1/token", reader, nil)
		if r.Status != 429 || r.Header.Get("Retry-After") == "" || r.ErrorCode() != "rate_limited" {
			t.Fatalf("21st request of a token limited to 20 a minute: %d %s", r.Status, r.Body)
		}
	}

	// Sends: 4 a minute for the inbox; 12 at once over both replicas.
	base := "/v1/inboxes/" + in.ID
	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[int]int{}
	for i := 0; i < 12; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			r := envs[i%2].Do("POST", base+"/messages/send", sender,
				models.SendRequest{To: []string{fmt.Sprintf("r%d@example.net", i)}, Subject: "s", Text: "t"})
			mu.Lock()
			codes[r.Status]++
			mu.Unlock()
		}(i)
	}
	wg.Wait()
	if codes[202] != 4 || codes[429] != 8 {
		t.Fatalf("12 concurrent sends against 4 a minute: %v, want 4 × 202 and 8 × 429", codes)
	}
}
