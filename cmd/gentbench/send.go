package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-msgauth/dkim"

	"gent/daemon/mail/mailgen"
	"gent/models"
)

// The remote domain sends go to: its MX is the harness's SMTP sink.
const (
	sinkDomain = "sink.bench.test"
	sinkMX     = "mx." + sinkDomain
)

// runSendScenario drives the send pipeline: clients POST messages to the
// send API as an agent (token auth); gentd stores each sent copy, queues
// it (one River job per recipient domain), and its delivery workers look
// up the MX, DKIM-sign the message and deliver it over SMTP to the sink.
// It reports the rate of accepted sends (202) and the rate at which the
// queue was drained into the sink, and checks the DKIM signature of a
// delivered message against the DNS server.
func runSendScenario(ctx context.Context, s *server, o *options) ([]result, error) {
	if s.sink == nil || s.st.Token == "" {
		return nil, nil // --target: the harness does not know where mail would go
	}
	var out []result
	for i := 0; i < o.repeat && ctx.Err() == nil; i++ {
		a, d, err := sendOnce(ctx, s, o)
		if err != nil {
			return nil, err
		}
		out = append(out, a, d)
	}
	if o.repeat > 1 {
		var acc, drain []result
		for i := 0; i < len(out); i += 2 {
			acc, drain = append(acc, out[i]), append(drain, out[i+1])
		}
		return []result{median(acc), median(drain)}, nil
	}
	return out, nil
}

func sendOnce(ctx context.Context, s *server, o *options) (result, result, error) {
	texts := make([]string, 64)
	for i := range texts {
		raw := mailgen.Message(mailgen.Options{From: s.st.Reader.Address, To: "x@" + sinkDomain, Size: o.sendSize, Seq: i + 1})
		_, body, _ := strings.Cut(string(raw), "\r\n\r\n")
		texts[i] = body
	}
	var (
		w        window
		seq      atomic.Int64
		total    atomic.Int64 // every 202, measured or not
		mu       sync.Mutex
		lat      latencies
		errs     atomic.Int64
		lastErr  atomic.Value
		wg       sync.WaitGroup
		payload  atomic.Int64
		sinkBase = s.sink.Count()
	)
	path := s.httpURL + "/v1/inboxes/" + s.st.Reader.ID + "/messages/send"
	for g := 0; g < o.sendConns; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine latencies
			for !w.done.Load() && ctx.Err() == nil {
				i := int(seq.Add(1))
				body, _ := json.Marshal(models.SendRequest{
					To:      models.AddressList{fmt.Sprintf("rcpt%d@%s", i%50, sinkDomain)},
					Subject: fmt.Sprintf("Bench send %d", i), Text: texts[i%len(texts)]})
				req, _ := http.NewRequest("POST", path, bytes.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+s.st.Token)
				req.Header.Set("Content-Type", "application/json")
				t0 := time.Now()
				resp, err := s.http.Do(req)
				if err == nil {
					b, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 202 {
						err = fmt.Errorf("send: %s %s", resp.Status, strings.TrimSpace(string(b)))
					}
				}
				t1 := time.Now()
				if err == nil {
					total.Add(1)
				}
				if !w.in(t0, t1) {
					continue
				}
				if err != nil {
					errs.Add(1)
					lastErr.Store(err)
					continue
				}
				mine = append(mine, t1.Sub(t0))
				payload.Add(int64(len(body)))
				w.ops.Add(1)
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}()
	}
	name := fmt.Sprintf("send API %s x%d clients", sizeName(o.sendSize), o.sendConns)
	var sinkStart int
	var prof sync.WaitGroup
	before, after := w.run(ctx, o.warmup, o.dur, 0, s.procs, func(d time.Duration) {
		sinkStart = s.sink.Count()
		if o.pprofDir != "" && s.pprofAddr != "" {
			prof.Add(1)
			go func() {
				defer prof.Done()
				fetchProfile(s.pprofAddr, d, filepath.Join(o.pprofDir, fileName(name)+".pprof"))
			}()
		}
	})
	sinkEnd := s.sink.Count()
	wg.Wait()
	prof.Wait()
	acc := measure(name+" (accepted)", int(w.ops.Load()), int(errs.Load()), payload.Load(), lat, before, after, s.procs.memory())
	if e, ok := lastErr.Load().(error); ok {
		acc.note = strings.TrimSpace(acc.note + " last error: " + e.Error())
	}
	// Delivered during the same window: the queue's drain rate while it
	// is being filled.
	dr := measure(name+" (delivered)", sinkEnd-sinkStart, 0, 0, nil, before, after, acc.mem)
	dr.gentdOp, dr.pgOp, dr.cpuOp, dr.client = 0, 0, 0, 0 // the CPU is the accepted row's
	stop := time.Now()
	want := sinkBase + int(total.Load())
	deadline := stop.Add(5 * time.Minute)
	for s.sink.Count() < want && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(10 * time.Millisecond)
	}
	left := want - s.sink.Count()
	dr.note = fmt.Sprintf("queue drained %s after the last send", time.Since(stop).Round(time.Millisecond))
	if left > 0 {
		dr.note = fmt.Sprintf("%d sends still undelivered 5 minutes after the last send", left)
		dr.errors = left
	}
	if s.sink.Count() > sinkBase {
		if err := s.checkSinkDKIM(); err != nil {
			dr.note += "; DKIM check FAILED: " + err.Error()
		} else {
			dr.note += "; DKIM signature of " + hostedDomain + " verified"
		}
	}
	return acc, dr, nil
}

// checkSinkDKIM verifies the signature of the last delivered message with
// the keys in the harness's DNS server.
func (s *server) checkSinkDKIM() error {
	msgs := s.sink.Messages()
	raw := msgs[len(msgs)-1].Data
	verifs, err := dkim.VerifyWithOptions(bytes.NewReader(raw), &dkim.VerifyOptions{LookupTXT: s.lookupTXT})
	if err != nil {
		return err
	}
	for _, v := range verifs {
		if v.Err == nil && v.Domain == hostedDomain {
			return nil
		}
	}
	return fmt.Errorf("no valid signature of %s among %d", hostedDomain, len(verifs))
}
