// Package secrets encrypts secrets at rest (DKIM private keys, webhook
// signing secrets) with AES-256-GCM under the daemon's master key.
//
// The master key is security.master_key (64 hex characters) or, when that
// is not set, data_dir/master.key, generated on first start. The database
// keeps a key check value (a known plaintext sealed with the key), so a
// daemon started with another key stops with a clear error instead of
// failing to decrypt later or signing with garbage.
package secrets

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"gent/daemon/config"
	"gent/daemon/store"
)

// KeySize is the master key length: 32 bytes, AES-256.
const KeySize = 32

// KeyFile is the name of the generated key file under data_dir.
const KeyFile = "master.key"

// version 1: 0x01 | 12-byte nonce | AES-256-GCM ciphertext and tag.
const version1 = 0x01

// checkPlaintext is sealed with the master key and kept in the database.
const (
	checkPlaintext = "gent master key check v1"
	checkContext   = "secrets.key_check"
)

// ErrDecrypt is returned when a sealed value cannot be opened: wrong key,
// wrong context, or corrupted data.
var ErrDecrypt = errors.New("secrets: cannot decrypt: wrong master key or corrupted value")

// Box seals and opens secrets with one master key. It is safe for
// concurrent use.
type Box struct {
	aead cipher.AEAD
}

// New builds a Box on a 32-byte key.
func New(key []byte) (*Box, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("secrets: master key must be %d bytes, got %d", KeySize, len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("secrets: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("secrets: %w", err)
	}
	return &Box{aead: aead}, nil
}

// Seal encrypts plaintext. context binds the ciphertext to its use (for
// example "domains.dkim_rsa:dom_…"): Open with another context fails, so a
// sealed value cannot be moved to another row or purpose.
func (b *Box) Seal(plaintext []byte, context string) []byte {
	nonce := make([]byte, b.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		panic("crypto/rand failed: " + err.Error())
	}
	out := make([]byte, 0, 1+len(nonce)+len(plaintext)+b.aead.Overhead())
	out = append(out, version1)
	out = append(out, nonce...)
	return b.aead.Seal(out, nonce, plaintext, []byte(context))
}

// Open decrypts a value made by Seal with the same key and context.
func (b *Box) Open(sealed []byte, context string) ([]byte, error) {
	ns := b.aead.NonceSize()
	if len(sealed) < 1+ns+b.aead.Overhead() || sealed[0] != version1 {
		return nil, ErrDecrypt
	}
	pt, err := b.aead.Open(nil, sealed[1:1+ns], sealed[1+ns:], []byte(context))
	if err != nil {
		return nil, ErrDecrypt
	}
	return pt, nil
}

// ParseKey decodes a master key written as 64 hex characters.
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	key, err := hex.DecodeString(s)
	if err != nil || len(key) != KeySize {
		return nil, fmt.Errorf("want %d hex characters (%d bytes)", 2*KeySize, KeySize)
	}
	return key, nil
}

// GenerateKey returns a fresh random master key.
func GenerateKey() []byte {
	key := make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		panic("crypto/rand failed: " + err.Error())
	}
	return key
}

// Open loads the master key, generating data_dir/master.key on first start
// when security.master_key is not set, and checks it against the key check
// value stored in the database (storing one on first start).
func Open(ctx context.Context, cfg config.Config, st *store.Store, log *slog.Logger) (*Box, error) {
	key, source, err := loadKey(cfg, log)
	if err != nil {
		return nil, err
	}
	check, err := readCheck(ctx, st)
	if err != nil {
		return nil, err
	}
	if key == nil {
		if check != nil {
			return nil, fmt.Errorf("master key missing: this database holds secrets encrypted with a master key, "+
				"but security.master_key (%s) is not set and %s does not exist; start gentd with the original key",
				config.EnvName("security.master_key"), filepath.Join(cfg.DataDir, KeyFile))
		}
		key, source, err = generateKeyFile(cfg.DataDir)
		if err != nil {
			return nil, err
		}
		log.Info("generated a new master key", "path", source)
	}
	box, err := New(key)
	if err != nil {
		return nil, err
	}
	if check == nil {
		if err := st.DB.WithContext(ctx).Exec(`INSERT INTO secrets_key_check (id, check_value) VALUES (1, ?)
			ON CONFLICT (id) DO NOTHING`, box.Seal([]byte(checkPlaintext), checkContext)).Error; err != nil {
			return nil, fmt.Errorf("store master key check value: %w", err)
		}
		if check, err = readCheck(ctx, st); err != nil {
			return nil, err
		}
	}
	if pt, err := box.Open(check, checkContext); err != nil || !bytes.Equal(pt, []byte(checkPlaintext)) {
		return nil, fmt.Errorf("wrong master key: the key from %s is not the key this database's secrets were "+
			"encrypted with (key check failed); start gentd with the original key (security.master_key, %s, "+
			"or the original %s)", source, config.EnvName("security.master_key"), filepath.Join(cfg.DataDir, KeyFile))
	}
	return box, nil
}

// loadKey returns the configured key, or the key in data_dir/master.key,
// or nil when neither exists. source names where it came from.
func loadKey(cfg config.Config, log *slog.Logger) ([]byte, string, error) {
	if cfg.Security.MasterKey != "" {
		key, err := ParseKey(cfg.Security.MasterKey)
		if err != nil {
			return nil, "", fmt.Errorf("config: security.master_key: %w", err)
		}
		return key, "security.master_key", nil
	}
	path := filepath.Join(cfg.DataDir, KeyFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, "", nil
	}
	if err != nil {
		return nil, "", fmt.Errorf("read master key: %w", err)
	}
	key, err := ParseKey(string(b))
	if err != nil {
		return nil, "", fmt.Errorf("master key file %s: %w", path, err)
	}
	if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
		log.Warn("master key file is readable by other users; chmod 600 it", "path", path, "mode", fi.Mode().Perm().String())
	}
	return key, path, nil
}

func generateKeyFile(dataDir string) ([]byte, string, error) {
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return nil, "", fmt.Errorf("create data_dir: %w", err)
	}
	path := filepath.Join(dataDir, KeyFile)
	key := GenerateKey()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, "", fmt.Errorf("write master key: %w", err)
	}
	if _, err := f.WriteString(hex.EncodeToString(key) + "\n"); err != nil {
		f.Close()
		return nil, "", fmt.Errorf("write master key: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, "", fmt.Errorf("write master key: %w", err)
	}
	return key, path, nil
}

func readCheck(ctx context.Context, st *store.Store) ([]byte, error) {
	var v []byte
	err := st.SQL.QueryRowContext(ctx, `SELECT check_value FROM secrets_key_check WHERE id = 1`).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read master key check value: %w", err)
	}
	return v, nil
}
