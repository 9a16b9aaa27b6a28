package events

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"gent/daemon/config"
)

// The Standard Webhooks reference vector (libraries' TestWebhookSign).
func TestSignKnownAnswer(t *testing.T) {
	sig, err := Sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, []byte(`{"test": 2432232314}`))
	if err != nil {
		t.Fatal(err)
	}
	if want := "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="; sig != want {
		t.Fatalf("signature %s, want %s", sig, want)
	}
	if !Verify("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, []byte(`{"test": 2432232314}`),
		"v1,bm90IGl0 "+sig) {
		t.Error("Verify refuses a header listing the right signature second")
	}
	if Verify("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265331, []byte(`{"test": 2432232314}`), sig) {
		t.Error("Verify accepts a signature for another timestamp")
	}
	if _, err := Sign("whsec_***", "m", 1, nil); err == nil {
		t.Error("Sign accepts a malformed secret")
	}
}

func TestNewSecretShape(t *testing.T) {
	a, b := NewSecret(), NewSecret()
	if a == b || len(a) != len(SecretPrefix)+44 {
		t.Fatalf("secrets %q %q", a, b)
	}
	if k, err := secretKey(a); err != nil || len(k) != 32 {
		t.Fatalf("key %d bytes, %v", len(k), err)
	}
}

func TestBlockedAddresses(t *testing.T) {
	cases := map[string]bool{ // address -> blocked
		"127.0.0.1": true, "127.8.9.10": true, "::1": true, "0.0.0.0": true, "::": true,
		"10.1.2.3": true, "172.16.0.1": true, "172.31.255.255": true, "192.168.1.1": true,
		"169.254.169.254": true, "fe80::1": true, "fc00::1": true, "fd12:3456::1": true,
		"224.0.0.1": true, "ff02::1": true, "100.64.0.1": true, "255.255.255.255": true,
		"::ffff:127.0.0.1": true, "::ffff:10.0.0.1": true, "64:ff9b::a00:1": true, "2002:a00:1::": true,
		"198.18.0.1": true, "0.1.2.3": true,
		"93.184.216.34": false, "1.1.1.1": false, "172.32.0.1": false, "2606:4700:4700::1111": false,
		"::ffff:8.8.8.8": false,
	}
	for addr, want := range cases {
		got := blockedReason(netip.MustParseAddr(addr)) != ""
		if got != want {
			t.Errorf("%s: blocked=%v, want %v (%s)", addr, got, want, blockedReason(netip.MustParseAddr(addr)))
		}
	}
	if err := dialControl("tcp", "127.0.0.1:80", nil); err == nil {
		t.Error("dialControl lets a loopback connection through")
	}
	if err := dialControl("tcp", "[2606:4700:4700::1111]:443", nil); err != nil {
		t.Errorf("dialControl refuses a public address: %v", err)
	}
}

func TestBackoffSchedule(t *testing.T) {
	w := &Webhooks{cfg: config.Webhooks{RetryBackoff: config.Duration(10 * time.Second)}}
	want := []time.Duration{10 * time.Second, 40 * time.Second, 160 * time.Second, 640 * time.Second,
		2560 * time.Second, 10240 * time.Second, maxBackoff, maxBackoff}
	for i, d := range want {
		if got := w.backoff(i + 1); got != d {
			t.Errorf("attempt %d: backoff %s, want %s", i+1, got, d)
		}
	}
}

// A NOTIFY naming an inbox wakes the organization's streams and that
// inbox's, not the streams of the organization's other inboxes nor other
// organizations'; an organization-wide one wakes all of its streams.
func TestWakeTargetsInboxStreams(t *testing.T) {
	h := newHub()
	org := h.subscribe("org_a", "")
	inbA := h.subscribe("org_a", "inb_1")
	inbB := h.subscribe("org_a", "inb_2")
	other := h.subscribe("org_b", "inb_1")
	woken := func() (out []bool) {
		for _, s := range []*subscription{org, inbA, inbB, other} {
			select {
			case <-s.wake:
				out = append(out, true)
			default:
				out = append(out, false)
			}
		}
		return out
	}
	for _, c := range []struct {
		payload string
		want    []bool
	}{
		{notifyPayload("org_a", "inb_1"), []bool{true, true, false, false}},
		{notifyPayload("org_a", ""), []bool{true, true, true, false}},
		{"org_b inb_1", []bool{false, false, false, true}},
		{"", []bool{true, true, true, true}},
	} {
		h.wake(c.payload)
		if got := woken(); fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("wake(%q): woken %v, want %v", c.payload, got, c.want)
		}
	}
}
