package delivery

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"testing"

	"github.com/emersion/go-msgauth/dkim"

	"gent/daemon/mail/mailgen"
)

// DKIM signing (what every delivery does) and verifying (what every
// inbound message gets), per key type and message size.
func BenchmarkDKIM(b *testing.B) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		b.Fatal(err)
	}
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	rsaPub, _ := x509.MarshalPKIXPublicKey(&rsaKey.PublicKey)
	keys := []struct {
		name   string
		signer crypto.Signer
		record string
	}{
		{"rsa2048", rsaKey, "v=DKIM1; k=rsa; p=" + base64.StdEncoding.EncodeToString(rsaPub)},
		{"ed25519", edKey, "v=DKIM1; k=ed25519; p=" + base64.StdEncoding.EncodeToString(edKey.Public().(ed25519.PublicKey))},
	}
	for _, k := range keys {
		for _, size := range []struct {
			name string
			n    int
		}{{"1KiB", 1 << 10}, {"10KiB", 10 << 10}, {"64KiB", 64 << 10}} {
			raw := mailgen.Message(mailgen.Options{From: "agent@mail.bench.test", To: "ada@example.org", Size: size.n, Seq: 1})
			b.Run("sign/"+k.name+"/"+size.name, func(b *testing.B) {
				b.SetBytes(int64(len(raw)))
				for b.Loop() {
					if _, err := signWith(raw, "mail.bench.test", "sel", k.signer); err != nil {
						b.Fatal(err)
					}
				}
			})
			signed, err := signWith(raw, "mail.bench.test", "sel", k.signer)
			if err != nil {
				b.Fatal(err)
			}
			opts := &dkim.VerifyOptions{LookupTXT: func(string) ([]string, error) { return []string{k.record}, nil }}
			b.Run("verify/"+k.name+"/"+size.name, func(b *testing.B) {
				b.SetBytes(int64(len(signed)))
				for b.Loop() {
					v, err := dkim.VerifyWithOptions(bytes.NewReader(signed), opts)
					if err != nil || len(v) != 1 || v[0].Err != nil {
						b.Fatalf("verify: %v %+v", err, v)
					}
				}
			})
		}
	}
}
