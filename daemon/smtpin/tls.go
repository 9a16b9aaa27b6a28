package smtpin

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"
)

// Self-signed certificate: where it lives under data_dir, how long it is
// valid, and how long before its end it is replaced.
const (
	SelfSignedDir      = "tls"
	SelfSignedCertFile = "selfsigned.crt"
	SelfSignedKeyFile  = "selfsigned.key"
	selfSignedValidity = 365 * 24 * time.Hour
	selfSignedRenew    = 30 * 24 * time.Hour
)

// SelfSignedPaths returns the certificate and key files gentd makes under
// dataDir when smtp.tls_cert is not set.
func SelfSignedPaths(dataDir string) (cert, key string) {
	d := filepath.Join(dataDir, SelfSignedDir)
	return filepath.Join(d, SelfSignedCertFile), filepath.Join(d, SelfSignedKeyFile)
}

// certSource loads the STARTTLS certificate: smtp.tls_cert/tls_key when
// set, otherwise a self-signed certificate for hostname under data_dir,
// made on first use and made again when it comes within 30 days of its
// end or no longer names hostname. The certificate in use is held in an
// atomic pointer that tls.Config.GetCertificate reads at every handshake:
// Reload swaps it, and sessions already in TLS keep the one they
// negotiated.
type certSource struct {
	certFile, keyFile string
	selfSigned        bool
	hostname          string
	log               *slog.Logger
	now               func() time.Time

	cur atomic.Pointer[tls.Certificate]
	mu  sync.Mutex // serialises loads (SIGHUP and renewal)
}

func newCertSource(certFile, keyFile, dataDir, hostname string, log *slog.Logger) (*certSource, error) {
	cs := &certSource{certFile: certFile, keyFile: keyFile, hostname: hostname, log: log, now: time.Now}
	if certFile == "" {
		cs.selfSigned = true
		cs.certFile, cs.keyFile = SelfSignedPaths(dataDir)
	}
	if err := cs.Reload(); err != nil {
		return nil, err
	}
	return cs, nil
}

// Reload reads the certificate from disk again (making a new self-signed
// one when needed). On error the certificate in use stays.
func (cs *certSource) Reload() error {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.selfSigned {
		if err := cs.ensureSelfSigned(); err != nil {
			return err
		}
	}
	cert, err := tls.LoadX509KeyPair(cs.certFile, cs.keyFile)
	if err != nil {
		if cs.selfSigned {
			return fmt.Errorf("self-signed certificate %s: %w", cs.certFile, err)
		}
		return fmt.Errorf("smtp.tls_cert/tls_key: %w", err)
	}
	if old := cs.cur.Load(); old != nil && bytes.Equal(old.Certificate[0], cert.Certificate[0]) {
		return nil
	}
	cs.cur.Store(&cert)
	leaf := cert.Leaf
	if cs.selfSigned {
		cs.log.Warn("smtp STARTTLS uses a self-signed certificate (set smtp.tls_cert and smtp.tls_key for a trusted one)",
			"cert", cs.certFile, "names", leaf.DNSNames, "not_after", leaf.NotAfter.UTC().Format(time.RFC3339))
	} else {
		cs.log.Info("smtp STARTTLS certificate loaded", "cert", cs.certFile, "names", leaf.DNSNames,
			"not_after", leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	return nil
}

// getCertificate is tls.Config.GetCertificate. A self-signed certificate
// coming near its end is replaced here too, so a daemon that runs for a
// year without a restart or SIGHUP never serves an expired one.
func (cs *certSource) getCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	c := cs.cur.Load()
	if cs.selfSigned && c.Leaf != nil && c.Leaf.NotAfter.Sub(cs.now()) < selfSignedRenew {
		if err := cs.Reload(); err != nil {
			cs.log.Error("renew self-signed certificate", "err", err)
		}
		c = cs.cur.Load()
	}
	return c, nil
}

// ensureSelfSigned makes the self-signed certificate unless a usable one
// (valid for 30 days more, naming hostname) is already on disk.
func (cs *certSource) ensureSelfSigned() error {
	if cert, err := tls.LoadX509KeyPair(cs.certFile, cs.keyFile); err == nil {
		leaf := cert.Leaf
		if leaf.NotAfter.Sub(cs.now()) >= selfSignedRenew && leaf.VerifyHostname(cs.hostname) == nil {
			return nil
		}
		cs.log.Info("replacing the self-signed certificate", "cert", cs.certFile,
			"not_after", leaf.NotAfter.UTC().Format(time.RFC3339), "names", leaf.DNSNames, "hostname", cs.hostname)
	} else if !errors.Is(err, os.ErrNotExist) {
		cs.log.Warn("replacing an unreadable self-signed certificate", "cert", cs.certFile, "err", err)
	}
	certPEM, keyPEM, err := makeSelfSigned(cs.hostname, cs.now())
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(cs.certFile), 0o700); err != nil {
		return fmt.Errorf("create %s: %w", filepath.Dir(cs.certFile), err)
	}
	// The key first, so that a crash between the two leaves a pair that
	// fails to load (and is made again), never a certificate with an old
	// key.
	if err := writeFileAtomic(cs.keyFile, keyPEM, 0o600); err != nil {
		return err
	}
	if err := writeFileAtomic(cs.certFile, certPEM, 0o644); err != nil {
		return err
	}
	cs.log.Info("made a self-signed certificate for STARTTLS", "cert", cs.certFile, "hostname", cs.hostname)
	return nil
}

// makeSelfSigned returns a PEM certificate and key (ECDSA P-256) for
// hostname, valid for a year from now.
func makeSelfSigned(hostname string, now time.Time) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("generate key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, nil, fmt.Errorf("generate serial: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: hostname, Organization: []string{"gentd self-signed"}},
		DNSNames:              []string{hostname},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(selfSignedValidity),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("create certificate: %w", err)
	}
	kb, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("marshal key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kb}), nil
}

// writeFileAtomic writes a file through a temporary one and a rename.
func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
