package smtpin

import (
	"io"
	"log/slog"
	"testing"
	"time"
)

// TestSelfSignedRenewedWhileServing: a daemon that keeps running replaces
// its self-signed certificate at the first handshake within 30 days of
// the certificate's end.
func TestSelfSignedRenewedWhileServing(t *testing.T) {
	cs, err := newCertSource("", "", t.TempDir(), "mx.gent.test", slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	first, _ := cs.getCertificate(nil)
	if again, _ := cs.getCertificate(nil); again != first {
		t.Fatal("certificate replaced far from its end")
	}
	later := first.Leaf.NotAfter.Add(-29 * 24 * time.Hour)
	cs.now = func() time.Time { return later }
	got, _ := cs.getCertificate(nil)
	if got == first || !got.Leaf.NotAfter.After(later.Add(300*24*time.Hour)) {
		t.Fatalf("not renewed: valid until %s", got.Leaf.NotAfter)
	}
}
