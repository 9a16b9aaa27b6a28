// Package smtpin is the inbound SMTP server: it translates SMTP to calls
// on the mail service. Every limit is explicit (go-smtp's zero values mean
// unlimited): message size, recipients, line length, command, data and
// session timeouts, connections in all and per remote address, header size
// and MIME structure, and Received hops.
package smtpin

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"

	"github.com/emersion/go-smtp"

	"gent/daemon/config"
	"gent/daemon/mail"
	"gent/daemon/metrics"
)

// Server is the inbound SMTP server.
type Server struct {
	cfg  config.SMTP
	host string
	mail *mail.Service
	log  *slog.Logger
	auth *authChecker
	smtp *smtp.Server
	// certs holds the STARTTLS certificate.
	certs *certSource
	met   *metrics.Metrics

	// proxyTrusted are the balancers that send PROXY headers
	// (smtp.proxy_trusted).
	proxyTrusted []*net.IPNet

	mu sync.Mutex
	ln *listener
}

// New builds the server; nothing listens yet.
func New(cfg config.Config, m *mail.Service, resolver Resolver, log *slog.Logger) (*Server, error) {
	s := &Server{cfg: cfg.SMTP, host: cfg.Hostname, mail: m, log: log.With("component", "smtp"),
		auth: &authChecker{resolver: resolver, timeout: cfg.DNS.Timeout.D(), hostname: cfg.Hostname}}
	trusted, err := config.ParseCIDRs(cfg.SMTP.ProxyTrusted)
	if err != nil {
		return nil, fmt.Errorf("smtp.proxy_trusted: %w", err)
	}
	s.proxyTrusted = trusted
	srv := smtp.NewServer(&backend{s: s})
	srv.Domain = cfg.Hostname
	srv.MaxMessageBytes = cfg.SMTP.MaxMessageBytes
	srv.MaxRecipients = cfg.SMTP.MaxRecipients
	srv.MaxLineLength = cfg.SMTP.MaxLineLength
	srv.ReadTimeout = cfg.SMTP.ReadTimeout.D()
	srv.WriteTimeout = cfg.SMTP.WriteTimeout.D()
	srv.EnableSMTPUTF8 = true
	srv.ErrorLog = logAdapter{s.log}
	certs, err := newCertSource(cfg.SMTP.TLSCert, cfg.SMTP.TLSKey, cfg.DataDir, cfg.Hostname, s.log)
	if err != nil {
		return nil, err
	}
	s.certs = certs
	// STARTTLS is always offered. The certificate is read at every
	// handshake from certs, which ReloadTLS replaces (SIGHUP).
	srv.TLSConfig = &tls.Config{GetCertificate: certs.getCertificate, MinVersion: tls.VersionTLS12,
		// Marks the connection as TLS: a timeout's reply can then no
		// longer be rewritten below the TLS layer (conn.Write).
		GetConfigForClient: func(h *tls.ClientHelloInfo) (*tls.Config, error) {
			if c := underlying(h.Conn); c != nil {
				c.tls.Store(true)
			}
			return nil, nil
		}}
	s.smtp = srv
	return s, nil
}

// ReloadTLS reads the STARTTLS certificate from disk again (gentd calls
// it on SIGHUP); new handshakes use it, open sessions keep theirs. On
// error the certificate in use stays.
func (s *Server) ReloadTLS() error { return s.certs.Reload() }

// Certificate returns the STARTTLS certificate in use and whether it is
// the self-signed one gentd made.
func (s *Server) Certificate() (*tls.Certificate, bool) {
	return s.certs.cur.Load(), s.certs.selfSigned
}

// SetMetrics makes the server count sessions and replies (before Serve).
func (s *Server) SetMetrics(m *metrics.Metrics) { s.met = m }

// Listen opens smtp.addr.
func (s *Server) Listen() (net.Listener, error) {
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("listen on smtp.addr %s: %w", s.cfg.Addr, err)
	}
	return ln, nil
}

// Serve accepts connections on ln until Shutdown.
func (s *Server) Serve(ln net.Listener) error {
	l := newListener(newProxyListener(ln, s.proxyTrusted, s.log), s.cfg.MaxConnections, s.cfg.MaxPerIP, s.cfg.MaxSession.D(), s.host, func(ip, why string) {
		s.log.Warn("smtp connection refused", "remote", ip, "reason", why)
		s.met.SMTPRefused()
	})
	l.met = s.met
	s.mu.Lock()
	s.ln = l
	s.mu.Unlock()
	s.log.Info("smtp listening", "addr", ln.Addr().String(), "starttls", true, "self_signed", s.certs.selfSigned, "proxy_trusted", s.cfg.ProxyTrusted)
	err := s.smtp.Serve(l)
	if errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

// Shutdown stops accepting connections and drains: sessions transferring
// a message finish it (stored and answered), idle ones are closed with
// 421. When ctx ends first, the remaining connections are closed.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	l := s.ln
	s.mu.Unlock()
	if l != nil {
		l.drain()
	}
	err := s.smtp.Shutdown(ctx)
	if l != nil {
		_ = l.Close()
	}
	if errors.Is(err, smtp.ErrServerClosed) {
		return nil
	}
	if err != nil {
		_ = s.smtp.Close()
		return fmt.Errorf("smtp: drain: %w", err)
	}
	return nil
}

// Active returns the number of open SMTP connections.
func (s *Server) Active() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return 0
	}
	return s.ln.active()
}

// logAdapter sends go-smtp's internal errors to the structured log.
type logAdapter struct{ log *slog.Logger }

func (l logAdapter) Printf(format string, v ...any) {
	l.log.Warn(strings.TrimSpace(fmt.Sprintf(format, v...)))
}

func (l logAdapter) Println(v ...any) { l.log.Warn(strings.TrimSpace(fmt.Sprintln(v...))) }
