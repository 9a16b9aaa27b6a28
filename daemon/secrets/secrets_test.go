package secrets_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gent/daemon/config"
	"gent/daemon/secrets"
	"gent/daemon/store/storetest"
)

func TestMain(m *testing.M) { storetest.Main(m) }

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func TestSealOpen(t *testing.T) {
	b, err := secrets.New(secrets.GenerateKey())
	if err != nil {
		t.Fatal(err)
	}
	plain := []byte("-----BEGIN PRIVATE KEY----- secret")
	sealed := b.Seal(plain, "domains.dkim_rsa:dom_1")
	if bytes.Contains(sealed, plain) {
		t.Fatal("sealed value contains the plaintext")
	}
	if again := b.Seal(plain, "domains.dkim_rsa:dom_1"); bytes.Equal(again, sealed) {
		t.Error("two seals of one value are equal: nonce reused")
	}
	got, err := b.Open(sealed, "domains.dkim_rsa:dom_1")
	if err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("round trip: %q %v", got, err)
	}
	if _, err := b.Open(sealed, "domains.dkim_rsa:dom_2"); err != secrets.ErrDecrypt {
		t.Errorf("other context: want ErrDecrypt, got %v", err)
	}
	tampered := bytes.Clone(sealed)
	tampered[len(tampered)-1] ^= 1
	if _, err := b.Open(tampered, "domains.dkim_rsa:dom_1"); err != secrets.ErrDecrypt {
		t.Errorf("tampered: want ErrDecrypt, got %v", err)
	}
	if _, err := b.Open(sealed[:10], "domains.dkim_rsa:dom_1"); err != secrets.ErrDecrypt {
		t.Errorf("short: want ErrDecrypt, got %v", err)
	}
	other, _ := secrets.New(secrets.GenerateKey())
	if _, err := other.Open(sealed, "domains.dkim_rsa:dom_1"); err != secrets.ErrDecrypt {
		t.Errorf("other key: want ErrDecrypt, got %v", err)
	}
	if _, err := secrets.New(make([]byte, 16)); err == nil {
		t.Error("a 16-byte key was accepted")
	}
}

func TestOpenGeneratesKeyFile(t *testing.T) {
	st := storetest.NewDB(t)
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	ctx := context.Background()

	b1, err := secrets.Open(ctx, cfg, st, quiet)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(cfg.DataDir, secrets.KeyFile)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatalf("no key file: %v", err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v, want 0600", fi.Mode().Perm())
	}
	raw, _ := os.ReadFile(path)
	if _, err := secrets.ParseKey(string(raw)); err != nil {
		t.Fatalf("key file %q: %v", raw, err)
	}
	sealed := b1.Seal([]byte("webhook secret"), "webhooks.secret:whk_1")

	// A restart reads the same key and opens what the first start sealed.
	b2, err := secrets.Open(ctx, cfg, st, quiet)
	if err != nil {
		t.Fatalf("second start: %v", err)
	}
	if got, err := b2.Open(sealed, "webhooks.secret:whk_1"); err != nil || string(got) != "webhook secret" {
		t.Fatalf("after restart: %q %v", got, err)
	}

	// The same key given in the configuration works too.
	cfg2 := cfg
	cfg2.DataDir = t.TempDir()
	cfg2.Security.MasterKey = strings.TrimSpace(string(raw))
	if _, err := secrets.Open(ctx, cfg2, st, quiet); err != nil {
		t.Fatalf("configured key: %v", err)
	}
	if _, err := os.Stat(filepath.Join(cfg2.DataDir, secrets.KeyFile)); err == nil {
		t.Error("a key file was written although security.master_key is set")
	}
}

func TestWrongMasterKey(t *testing.T) {
	st := storetest.NewDB(t)
	ctx := context.Background()
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.Security.MasterKey = hex.EncodeToString(secrets.GenerateKey())
	if _, err := secrets.Open(ctx, cfg, st, quiet); err != nil {
		t.Fatal(err)
	}

	wrong := cfg
	wrong.Security.MasterKey = hex.EncodeToString(secrets.GenerateKey())
	_, err := secrets.Open(ctx, wrong, st, quiet)
	if err == nil || !strings.Contains(err.Error(), "wrong master key") || !strings.Contains(err.Error(), "security.master_key") {
		t.Fatalf("wrong configured key: want a clear error, got %v", err)
	}

	// No key configured and no key file, on a database that has secrets:
	// refuse rather than generate a new key.
	none := cfg
	none.Security.MasterKey = ""
	none.DataDir = t.TempDir()
	_, err = secrets.Open(ctx, none, st, quiet)
	if err == nil || !strings.Contains(err.Error(), "master key missing") {
		t.Fatalf("missing key: want a clear error, got %v", err)
	}
	if _, err := os.Stat(filepath.Join(none.DataDir, secrets.KeyFile)); err == nil {
		t.Error("a new key file was generated for a database that already has secrets")
	}

	// A wrong key file.
	if err := os.WriteFile(filepath.Join(none.DataDir, secrets.KeyFile), []byte(hex.EncodeToString(secrets.GenerateKey())+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = secrets.Open(ctx, none, st, quiet)
	if err == nil || !strings.Contains(err.Error(), "wrong master key") || !strings.Contains(err.Error(), secrets.KeyFile) {
		t.Fatalf("wrong key file: want a clear error naming the file, got %v", err)
	}

	// A malformed key file.
	if err := os.WriteFile(filepath.Join(none.DataDir, secrets.KeyFile), []byte("not hex\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err = secrets.Open(ctx, none, st, quiet); err == nil || !strings.Contains(err.Error(), "64 hex characters") {
		t.Fatalf("malformed key file: got %v", err)
	}
}
