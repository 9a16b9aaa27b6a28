package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"time"
)

// idleSMTP opens n SMTP connections that greet and then wait, and
// reports gentd's memory with them open.
func idleSMTP(ctx context.Context, s *server, n int) (result, error) {
	base := s.procs.memory()
	conns := make([]net.Conn, 0, n)
	defer func() {
		for _, c := range conns {
			_, _ = c.Write([]byte("QUIT\r\n"))
			c.Close()
		}
	}()
	start := time.Now()
	for i := 0; i < n && ctx.Err() == nil; i++ {
		c, err := net.DialTimeout("tcp", s.smtpAddr, 10*time.Second)
		if err != nil {
			return result{}, fmt.Errorf("idle smtp connection %d: %w", i, err)
		}
		conns = append(conns, c)
		_ = c.SetDeadline(time.Now().Add(30 * time.Second))
		r := bufio.NewReader(c)
		if line, err := r.ReadString('\n'); err != nil || !strings.HasPrefix(line, "220") {
			return result{}, fmt.Errorf("idle smtp connection %d: greeting %q %v", i, line, err)
		}
		if _, err := c.Write([]byte("EHLO idle." + senderDomain + "\r\n")); err != nil {
			return result{}, err
		}
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return result{}, fmt.Errorf("idle smtp connection %d: EHLO: %w", i, err)
			}
			if strings.HasPrefix(line, "250 ") {
				break
			}
		}
		_ = c.SetDeadline(time.Time{})
	}
	settle()
	m := s.procs.memory()
	r := result{name: fmt.Sprintf("idle SMTP connections x%d", len(conns)), ops: len(conns), mem: m}
	r.note = fmt.Sprintf("gentd RSS %s MiB before, %s MiB with them open (%.1f KiB each); opened in %s",
		mib(base.gentdRSS), mib(m.gentdRSS), float64(m.gentdRSS-base.gentdRSS)/1024/float64(max(len(conns), 1)), time.Since(start).Round(time.Millisecond))
	return r, nil
}

// idleSSE opens n event streams of the reader's inbox (token auth) and
// reports gentd's memory with them open.
func idleSSE(ctx context.Context, s *server, n int) (result, error) {
	base := s.procs.memory()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	client := &http.Client{Transport: &http.Transport{MaxConnsPerHost: 0, MaxIdleConnsPerHost: n}}
	var wg sync.WaitGroup
	opened := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequestWithContext(ctx, "GET", s.httpURL+"/v1/inboxes/"+s.st.Reader.ID+"/events", nil)
			req.Header.Set("Authorization", "Bearer "+s.st.Token)
			req.Header.Set("Accept", "text/event-stream")
			resp, err := client.Do(req)
			if err != nil {
				opened <- err
				return
			}
			defer resp.Body.Close()
			if resp.StatusCode != 200 {
				opened <- fmt.Errorf("event stream: %s", resp.Status)
				return
			}
			opened <- nil
			buf := make([]byte, 4096)
			for {
				if _, err := resp.Body.Read(buf); err != nil {
					return
				}
			}
		}()
	}
	for i := 0; i < n; i++ {
		if err := <-opened; err != nil {
			cancel()
			wg.Wait()
			return result{}, err
		}
	}
	settle()
	m := s.procs.memory()
	cancel()
	wg.Wait()
	r := result{name: fmt.Sprintf("idle SSE streams x%d", n), ops: n, mem: m}
	r.note = fmt.Sprintf("gentd RSS %s MiB before, %s MiB with them open (%.1f KiB each)",
		mib(base.gentdRSS), mib(m.gentdRSS), float64(m.gentdRSS-base.gentdRSS)/1024/float64(n))
	return r, nil
}

// settle lets the server finish accepting before memory is read.
func settle() {
	runtime.Gosched()
	time.Sleep(2 * time.Second)
}
