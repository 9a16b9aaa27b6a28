package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"gorm.io/gorm"

	"gent/daemon/events"
	"gent/daemon/mail"
	"gent/daemon/mail/mailgen"
	"gent/daemon/store"
	"gent/models"
)

// seedBatch is how many messages one seeding transaction stores.
const seedBatch = 200

// seedStored is how many messages seed stores through the message store;
// beyond it, it copies those rows.
const seedStored = 10000

// seed fills the reader's inbox until it holds n messages. The first
// 10,000 go through the message store (mail.Service.Store, the code SMTP
// and the send API use: parsing, threads, the search vector, contacts,
// usage counters, events), talking to the database directly rather than
// through SMTP. Beyond that, rows the store wrote are copied with new,
// later ids (INSERT … SELECT, search vectors included), so a million
// messages take minutes, not hours; the copies keep the words' frequencies
// (mailgen's every 2nd / 100th / 10,000th message). The inbox's and
// threads' counters are then set to match the rows.
func seed(ctx context.Context, s *server, n, size int, out io.Writer) error {
	if s.dbURL == "" {
		return fmt.Errorf("seeding needs the database (run without --target, or pass --database-url)")
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	st, err := store.Connect(ctx, s.dbURL, 4, log)
	if err != nil {
		return err
	}
	defer st.Pool.Close()
	svc := mail.NewService(st, events.NewService(st, log), log)
	var have struct {
		OrgID        string
		MessageCount int
	}
	if err := st.DB.Raw(`SELECT org_id, message_count FROM inboxes WHERE id = ?`, s.st.Reader.ID).Scan(&have).Error; err != nil {
		return err
	}
	if have.MessageCount >= n {
		return nil
	}
	fmt.Fprintf(out, "seeding %s with %d messages of %d bytes (it holds %d)...\n", s.st.Reader.Address, n-have.MessageCount, size, have.MessageCount)

	type item struct {
		raw []byte
		p   *mail.Parsed
	}
	stored := min(n, seedStored)
	indexes := make(chan int, 1024)
	ready := make(chan item, 1024)
	go func() {
		defer close(indexes)
		for i := have.MessageCount; i < stored && ctx.Err() == nil; i++ {
			indexes <- i
		}
	}()
	var wg sync.WaitGroup
	for g := 0; g < 2; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range indexes {
				raw := mailgen.Message(mailgen.Options{From: fmt.Sprintf("sender%d@example%d.test", i%997, i%31),
					To: s.st.Reader.Address, Size: size, Seq: i})
				p, err := mail.Parse(raw, mail.DefaultLimits)
				if err != nil {
					continue
				}
				ready <- item{raw, p}
			}
		}()
	}
	go func() { wg.Wait(); close(ready) }()

	start, last := time.Now(), time.Now()
	done := have.MessageCount
	batch := make([]item, 0, seedBatch)
	flush := func() error {
		err := st.Tx(ctx, func(tx *gorm.DB) error {
			for _, it := range batch {
				if _, err := svc.Store(ctx, tx, mail.StoreInput{OrgID: have.OrgID, InboxID: s.st.Reader.ID,
					Direction: models.DirectionInbound, Status: models.StatusReceived, Raw: it.raw, Parsed: it.p,
					MailFrom: it.p.From.Address, RcptTo: s.st.Reader.Address}); err != nil {
					return err
				}
			}
			return nil
		})
		done += len(batch)
		batch = batch[:0]
		if time.Since(last) > 10*time.Second {
			last = time.Now()
			fmt.Fprintf(out, "  %d/%d (%.0f/s)\n", done, n, float64(done-have.MessageCount)/time.Since(start).Seconds())
		}
		return err
	}
	for it := range ready {
		batch = append(batch, it)
		if len(batch) == seedBatch {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if len(batch) > 0 {
		if err := flush(); err != nil {
			return err
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if n > done {
		if err := cloneMessages(ctx, st, s.st.Reader.ID, n-done, out); err != nil {
			return err
		}
	}
	// Fresh statistics, as autovacuum would have them on a live system.
	if err := st.DB.Exec(`VACUUM ANALYZE messages`).Error; err != nil {
		return err
	}
	fmt.Fprintf(out, "  seeded in %s\n", time.Since(start).Round(time.Second))
	return nil
}

// sampleIDs returns up to n message ids spread over the reader's inbox.
func sampleIDs(ctx context.Context, s *server, n int) ([]string, error) {
	if s.dbURL != "" {
		st, err := store.Connect(ctx, s.dbURL, 2, slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err != nil {
			return nil, err
		}
		defer st.Pool.Close()
		var ids []string
		err = st.DB.Raw(`SELECT id FROM messages WHERE inbox_id = ? ORDER BY random() LIMIT ?`, s.st.Reader.ID, n).Scan(&ids).Error
		return ids, err
	}
	var ids []string
	cursor := ""
	for len(ids) < n {
		var page models.List[models.MessageSummary]
		path := "/v1/inboxes/" + s.st.Reader.ID + "/messages?limit=200"
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		if _, err := s.api("GET", path, s.st.Token, nil, &page); err != nil {
			return nil, err
		}
		for _, m := range page.Data {
			ids = append(ids, m.ID)
		}
		if page.NextCursor == "" {
			break
		}
		cursor = page.NextCursor
	}
	return ids, nil
}

// httpCase is one kind of request sent by readers clients.
type httpCase struct {
	name    string
	readers int
	warmup  time.Duration
	dur     time.Duration
	// path returns the next request's path.
	path   func(r *rand.Rand) string
	bearer string
}

func runHTTP(ctx context.Context, s *server, c httpCase) result {
	var (
		w       window
		mu      sync.Mutex
		lat     latencies
		errs    atomic.Int64
		wg      sync.WaitGroup
		lastErr atomic.Value
	)
	for g := 0; g < c.readers; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(g), 42))
			var mine latencies
			for !w.done.Load() && ctx.Err() == nil {
				req, _ := http.NewRequest("GET", s.httpURL+c.path(r), nil)
				if c.bearer != "" {
					req.Header.Set("Authorization", "Bearer "+c.bearer)
				}
				t0 := time.Now()
				resp, err := s.http.Do(req)
				if err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 {
						err = fmt.Errorf("%s: %s", req.URL.Path, resp.Status)
					}
				}
				t1 := time.Now()
				if !w.in(t0, t1) {
					continue
				}
				if err != nil {
					errs.Add(1)
					lastErr.Store(err)
					continue
				}
				mine = append(mine, t1.Sub(t0))
				w.ops.Add(1)
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}(g)
	}
	before, after := w.run(ctx, c.warmup, c.dur, 0, s.procs, nil)
	wg.Wait()
	r := measure(c.name, int(w.ops.Load()), int(errs.Load()), 0, lat, before, after, s.procs.memory())
	if e, ok := lastErr.Load().(error); ok {
		r.note = strings.TrimSpace(r.note + " last error: " + e.Error())
	}
	return r
}

// readCases are the read API requests measured at one seed level.
func readCases(s *server, o *options, ids []string, level int) []httpCase {
	base := "/v1/inboxes/" + s.st.Reader.ID + "/messages"
	pick := func(r *rand.Rand) string { return ids[r.IntN(len(ids))] }
	mk := func(name string, path func(r *rand.Rand) string) httpCase {
		return httpCase{name: fmt.Sprintf("read %s @%s", name, count(level)), readers: o.readers, warmup: o.warmup / 2,
			dur: o.readDur, path: path, bearer: s.st.Token}
	}
	return []httpCase{
		mk("list limit=50", func(*rand.Rand) string { return base + "?limit=50" }),
		mk("list cursor", func(r *rand.Rand) string { return base + "?limit=50&cursor=" + pick(r) }),
		mk("get", func(r *rand.Rand) string { return base + "/" + pick(r) }),
		mk("search common", func(*rand.Rand) string { return base + "?limit=50&q=" + url.QueryEscape(mailgen.Common) }),
		mk("search 1%", func(*rand.Rand) string { return base + "?limit=50&q=" + url.QueryEscape(mailgen.Medium) }),
		mk("search rare", func(*rand.Rand) string { return base + "?limit=50&q=" + url.QueryEscape(mailgen.Rare) }),
		mk("search miss", func(*rand.Rand) string { return base + "?limit=50&q=" + url.QueryEscape("zeppelin") }),
	}
}

func count(n int) string {
	switch {
	case n >= 1000000 && n%1000000 == 0:
		return fmt.Sprintf("%dM", n/1000000)
	case n >= 1000 && n%1000 == 0:
		return fmt.Sprintf("%dk", n/1000)
	}
	return fmt.Sprint(n)
}

// cloneMessages adds n copies of the inbox's first seedStored messages,
// with new time-ordered ids, inserted in id order (as mail arrives, so
// the table's physical order is the id order), and sets the counters to
// match.
func cloneMessages(ctx context.Context, st *store.Store, inboxID string, n int, out io.Writer) error {
	var templates []string
	if err := st.DB.Raw(`SELECT id FROM messages WHERE inbox_id = ? ORDER BY id LIMIT ?`, inboxID, seedStored).Scan(&templates).Error; err != nil {
		return err
	}
	if len(templates) == 0 {
		return fmt.Errorf("no messages to copy")
	}
	const chunk = 5000
	start, last := time.Now(), time.Now()
	for done := 0; done < n && ctx.Err() == nil; {
		k := min(chunk, n-done)
		ids := make(models.StringArray, k)
		srcs := make(models.StringArray, k)
		for i := range ids {
			ids[i] = models.NewID(models.PrefixMessage)
			srcs[i] = templates[(done+i)%len(templates)]
		}
		err := st.DB.WithContext(ctx).Exec(`INSERT INTO messages (id, org_id, inbox_id, thread_id, direction, status, mail_from,
				rcpt_to, message_id, in_reply_to, refs, from_addr, reply_to, to_addrs, cc_addrs, bcc_addrs, subject, sent_at,
				headers, text_body, html_body, extracted_text, preview, auth, labels, read, raw, size, search)
			SELECT u.id, m.org_id, m.inbox_id, m.thread_id, m.direction, m.status, m.mail_from, m.rcpt_to, m.message_id,
				m.in_reply_to, m.refs, m.from_addr, m.reply_to, m.to_addrs, m.cc_addrs, m.bcc_addrs, m.subject, m.sent_at,
				m.headers, m.text_body, m.html_body, m.extracted_text, m.preview, m.auth, m.labels, m.read, m.raw, m.size, m.search
			FROM unnest(?::text[], ?::text[]) WITH ORDINALITY AS u(id, src, ord) JOIN messages m ON m.id = u.src
			ORDER BY u.ord`, ids, srcs).Error
		if err != nil {
			return fmt.Errorf("copy messages: %w", err)
		}
		done += k
		if time.Since(last) > 10*time.Second {
			last = time.Now()
			fmt.Fprintf(out, "  copied %d/%d (%.0f/s)\n", done, n, float64(done)/time.Since(start).Seconds())
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := st.DB.Exec(`UPDATE inboxes SET used_bytes = c.bytes, message_count = c.n
		FROM (SELECT coalesce(sum(size), 0) AS bytes, count(*) AS n FROM messages WHERE inbox_id = ?) c WHERE id = ?`, inboxID, inboxID).Error; err != nil {
		return err
	}
	return st.DB.Exec(`UPDATE threads t SET message_count = c.n, unread_count = c.unread
		FROM (SELECT thread_id, count(*) AS n, count(*) FILTER (WHERE NOT read) AS unread FROM messages WHERE inbox_id = ? GROUP BY thread_id) c
		WHERE t.id = c.thread_id`, inboxID).Error
}

// inboxSize returns how many messages the reader's inbox holds (its
// counter), or 0 when the database is out of reach.
func inboxSize(ctx context.Context, s *server) (int, error) {
	if s.dbURL == "" {
		return 0, nil
	}
	st, err := store.Connect(ctx, s.dbURL, 1, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		return 0, err
	}
	defer st.Pool.Close()
	var n int
	err = st.DB.Raw(`SELECT message_count FROM inboxes WHERE id = ?`, s.st.Reader.ID).Scan(&n).Error
	return n, err
}
