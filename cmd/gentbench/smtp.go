package main

import (
	"bytes"
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-msgauth/dkim"
	"github.com/emersion/go-smtp"

	"gent/daemon/mail/mailgen"
)

const senderAddr = "load@" + senderDomain

// messagePool makes n distinct messages of about size bytes, DKIM-signed
// (relaxed/relaxed, RSA-2048) by the sender domain when key is set. They
// are made before the clock starts: signing is the sender's cost, not the
// server's.
func messagePool(n, size int, multipart bool, key *rsa.PrivateKey) ([][]byte, error) {
	out := make([][]byte, n)
	for i := range out {
		raw := mailgen.Message(mailgen.Options{From: senderAddr, To: "agents@" + hostedDomain, Size: size,
			Seq: i + 1, Multipart: multipart})
		if key != nil {
			var b bytes.Buffer
			err := dkim.Sign(&b, bytes.NewReader(raw), &dkim.SignOptions{Domain: senderDomain, Selector: senderSel, Signer: key,
				HeaderCanonicalization: dkim.CanonicalizationRelaxed, BodyCanonicalization: dkim.CanonicalizationRelaxed,
				HeaderKeys: []string{"From", "To", "Subject", "Date", "Message-ID", "MIME-Version", "Content-Type"}})
			if err != nil {
				return nil, fmt.Errorf("sign: %w", err)
			}
			raw = b.Bytes()
		}
		out[i] = raw
	}
	return out, nil
}

// smtpCase is one inbound load: conns connections sending messages of one
// size to rcpts (round robin).
type smtpCase struct {
	name   string
	conns  int
	msgs   [][]byte
	rcpts  []string
	warmup time.Duration
	dur    time.Duration
	count  int // stop after this many measured messages (0: dur)
}

// window says which operations count: those started and finished between
// start and end.
type window struct {
	mu         sync.Mutex
	start, end time.Time
	measuring  atomic.Bool
	done       atomic.Bool
	ops        atomic.Int64
}

func (w *window) in(t0, t1 time.Time) bool {
	if !w.measuring.Load() {
		return false
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return !t0.Before(w.start) && (w.end.IsZero() || !t1.After(w.end))
}

// run drives the clock of a case: warm-up, measurement (dur, or count
// ops), then stop. onStart runs when measuring starts.
func (w *window) run(ctx context.Context, warmup, dur time.Duration, count int, p procs, onStart func(d time.Duration)) (sample, sample) {
	ctxSleep(ctx, warmup)
	w.mu.Lock()
	w.start = time.Now()
	w.mu.Unlock()
	before := p.sample()
	w.measuring.Store(true)
	if onStart != nil {
		onStart(dur)
	}
	if count > 0 {
		for w.ops.Load() < int64(count) && ctx.Err() == nil {
			time.Sleep(5 * time.Millisecond)
		}
	} else {
		ctxSleep(ctx, dur)
	}
	after := p.sample()
	w.mu.Lock()
	w.end = after.at
	w.mu.Unlock()
	w.done.Store(true)
	return before, after
}

func runSMTP(ctx context.Context, s *server, c smtpCase, pprofDir string) result {
	var (
		w       window
		mu      sync.Mutex
		lat     latencies
		errs    atomic.Int64
		bytes   atomic.Int64
		wg      sync.WaitGroup
		lastErr atomic.Value
	)
	for g := 0; g < c.conns; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			var mine latencies
			defer func() {
				mu.Lock()
				lat = append(lat, mine...)
				mu.Unlock()
			}()
			i := g
			for !w.done.Load() && ctx.Err() == nil {
				cl, err := smtp.Dial(s.smtpAddr)
				if err == nil {
					err = cl.Hello("client." + senderDomain)
				}
				if err != nil {
					errs.Add(1)
					lastErr.Store(err)
					if cl != nil {
						cl.Close()
					}
					time.Sleep(50 * time.Millisecond)
					continue
				}
				for !w.done.Load() && ctx.Err() == nil {
					msg := c.msgs[i%len(c.msgs)]
					rcpt := c.rcpts[i%len(c.rcpts)]
					i += c.conns
					t0 := time.Now()
					err := sendOne(cl, senderAddr, rcpt, msg)
					t1 := time.Now()
					if !w.in(t0, t1) {
						if err != nil {
							break
						}
						continue
					}
					if err != nil {
						errs.Add(1)
						lastErr.Store(err)
						break
					}
					mine = append(mine, t1.Sub(t0))
					bytes.Add(int64(len(msg)))
					w.ops.Add(1)
				}
				_ = cl.Quit()
				cl.Close()
			}
		}(g)
	}
	var prof sync.WaitGroup
	wal := newWALMeter(ctx, s.dbURL)
	defer wal.close()
	before, after := w.run(ctx, c.warmup, c.dur, c.count, s.procs, func(d time.Duration) {
		wal.start()
		if pprofDir != "" && s.pprofAddr != "" && c.count == 0 {
			prof.Add(1)
			go func() {
				defer prof.Done()
				fetchProfile(s.pprofAddr, d, filepath.Join(pprofDir, fileName(c.name)+".pprof"))
			}()
		}
	})
	walBytes := wal.stop()
	wg.Wait()
	prof.Wait()
	r := measure(c.name, int(w.ops.Load()), int(errs.Load()), bytes.Load(), lat, before, after, s.procs.memory())
	if n := w.ops.Load(); n > 0 && walBytes > 0 {
		r.walOp = walBytes / n
	}
	if e, ok := lastErr.Load().(error); ok {
		r.note = strings.TrimSpace(r.note + " last error: " + e.Error())
	}
	return r
}

// sendOne is one SMTP transaction on an open connection; nil means the
// message was accepted (250 after DATA).
func sendOne(c *smtp.Client, from, to string, msg []byte) error {
	if err := c.Mail(from, nil); err != nil {
		return err
	}
	if err := c.Rcpt(to, nil); err != nil {
		_ = c.Reset()
		return err
	}
	wc, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := wc.Write(msg); err != nil {
		return err
	}
	return wc.Close()
}

// fetchProfile saves a CPU profile of gentd taken over d.
func fetchProfile(addr string, d time.Duration, path string) {
	secs := int(d.Seconds())
	if secs < 1 {
		secs = 1
	}
	resp, err := http.Get(fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", addr, secs))
	if err != nil {
		fmt.Fprintln(os.Stderr, "pprof:", err)
		return
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		fmt.Fprintln(os.Stderr, "pprof:", resp.Status)
		return
	}
	f, err := os.Create(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "pprof:", err)
		return
	}
	defer f.Close()
	if _, err := io.Copy(f, resp.Body); err != nil && !errors.Is(err, io.EOF) {
		fmt.Fprintln(os.Stderr, "pprof:", err)
	}
}

// fileName turns a scenario name into a file name.
func fileName(name string) string {
	b := []byte(name)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			b[i] = '_'
		}
	}
	return string(b)
}
