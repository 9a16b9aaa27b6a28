package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"

	"github.com/emersion/go-smtp"
)

// fsyncSink is the baseline of --baseline: a go-smtp server on loopback
// that appends each message to one file and fsyncs it before answering
// 250 (one fsync per message, no batching, no checks). It is the pace of
// durable mail on this disk with nothing else done.
type fsyncSink struct {
	addr string
	srv  *smtp.Server
	f    *os.File
	mu   sync.Mutex
}

func startFsyncSink(dir string) (*fsyncSink, error) {
	f, err := os.OpenFile(filepath.Join(dir, "baseline.mbox"), os.O_CREATE|os.O_WRONLY|os.O_APPEND|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		f.Close()
		return nil, err
	}
	k := &fsyncSink{addr: l.Addr().String(), f: f}
	k.srv = smtp.NewServer(k)
	k.srv.Domain = "baseline.bench.test"
	k.srv.MaxMessageBytes = 64 << 20
	go k.srv.Serve(l) //nolint:errcheck // ends with Close
	return k, nil
}

func (k *fsyncSink) Close() {
	k.srv.Close()
	k.f.Close()
	os.Remove(k.f.Name())
}

func (k *fsyncSink) NewSession(*smtp.Conn) (smtp.Session, error) { return &fsyncSession{k: k}, nil }

// write appends one message and fsyncs it; the lock keeps each message
// whole in the file (a file system serializes fsyncs of one file anyway).
func (k *fsyncSink) write(from string, data []byte) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if _, err := fmt.Fprintf(k.f, "From %s\n", from); err != nil {
		return err
	}
	if _, err := k.f.Write(data); err != nil {
		return err
	}
	if _, err := k.f.Write([]byte("\n")); err != nil {
		return err
	}
	return k.f.Sync()
}

type fsyncSession struct {
	k    *fsyncSink
	from string
}

func (s *fsyncSession) Mail(from string, _ *smtp.MailOptions) error { s.from = from; return nil }
func (s *fsyncSession) Rcpt(string, *smtp.RcptOptions) error        { return nil }
func (s *fsyncSession) Reset()                                      { s.from = "" }
func (s *fsyncSession) Logout() error                               { return nil }

func (s *fsyncSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	return s.k.write(s.from, b)
}

// runBaseline loads the fsync sink with the same case (connections,
// messages, recipients, timing) as gentd's.
func runBaseline(ctx context.Context, k *fsyncSink, c smtpCase) result {
	b := &server{smtpAddr: k.addr}
	c.name = "baseline: fsync sink, " + c.name
	return runSMTP(ctx, b, c, "")
}

// withBaseline runs gentd's case between two runs of the baseline and
// notes gentd's rate as a ratio to the baseline's mean.
func withBaseline(ctx context.Context, k *fsyncSink, c smtpCase, gentd func() result, emit func(result)) {
	before := runBaseline(ctx, k, c)
	emit(before)
	r := gentd()
	after := runBaseline(ctx, k, c)
	emit(after)
	base := (before.rate + after.rate) / 2
	if base > 0 {
		r.note = fmt.Sprintf("%s ratio to the fsync sink: %.2f (sink %.0f and %.0f msg/s)",
			r.note, r.rate/base, before.rate, after.rate)
	}
	emit(r)
}
