// Command gentbench loads a gentd and prints what it sustains: inbound
// SMTP (durable, with SPF/DKIM/DMARC checked against a loopback DNS
// server), the read API with token auth at growing message counts, token
// authentication, and memory with idle SMTP connections and SSE streams.
//
// By default it builds gentd and runs it itself, with embedded PostgreSQL
// in a temporary directory, a DNS server publishing the hosted and the
// sending domains, and an organization, a DNS-verified domain, inboxes and
// a token made through the public API. With --target it loads a server
// that is already running. See docs/BENCHMARKS.md.
//
//	go run ./cmd/gentbench                                  # the default scenario set
//	go run ./cmd/gentbench --scenarios smtp --size 10KiB --inboxes 1 --conns 8 --duration 20s
//	go run ./cmd/gentbench --scenarios read --seed 10000,100000,1000000 --data-dir /var/tmp/gentbench
//	go run ./cmd/gentbench --target 127.0.0.1:2525 --http http://127.0.0.1:8080 --token gent_… --rcpt a@x.example
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

type options struct {
	scenarios   map[string]bool
	conns       int
	sizes       []int
	inboxes     []int
	multipart   bool
	baseline    bool
	intoReader  bool
	warmup      time.Duration
	dur         time.Duration
	count       int
	repeat      int
	seeds       []int
	seedSize    int
	readers     int
	readDur     time.Duration
	idleSMTP    int
	sse         int
	pprofDir    string
	dataDir     string
	keep        bool
	gentd       string
	logLevel    string
	serverEnv   []string
	sendConns   int
	sendCount   int
	sendSize    int
	target      string
	httpURL     string
	token       string
	rcpts       []string
	serverPid   int
	pprofAddr   string
	senderKey   string
	databaseURL string
}

func (o *options) maxInboxes() int {
	n := 1
	for _, i := range o.inboxes {
		n = max(n, i)
	}
	return n
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "gentbench:", err)
		os.Exit(1)
	}
}

// parseSize reads 10KiB, 64k, 1MiB or a byte count.
func parseSize(s string) (int, error) {
	s = strings.TrimSpace(s)
	mult := 1
	for _, suf := range []struct {
		s string
		m int
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"k", 1 << 10}, {"K", 1 << 10}, {"M", 1 << 20}} {
		if strings.HasSuffix(s, suf.s) {
			s, mult = strings.TrimSuffix(s, suf.s), suf.m
			break
		}
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("not a size: %q", s)
	}
	return n * mult, nil
}

func parseList(s string, f func(string) (int, error)) ([]int, error) {
	var out []int
	for _, p := range strings.Split(s, ",") {
		if strings.TrimSpace(p) == "" {
			continue
		}
		n, err := f(p)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, nil
}

func atoi(s string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("not a positive number: %q", s)
	}
	return n, nil
}

func run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("gentbench", flag.ContinueOnError)
	o := &options{}
	scen := fs.String("scenarios", "idle,smtp,send,auth,read", "scenarios to run, in this order: idle, smtp, send, auth, read")
	fs.IntVar(&o.conns, "conns", 8, "concurrent SMTP connections")
	sizes := fs.String("size", "1KiB,10KiB,64KiB", "message sizes for the SMTP load (comma-separated)")
	inboxes := fs.String("inboxes", "100,1", "how many inboxes the SMTP load spreads over (comma-separated; each size runs with each)")
	fs.BoolVar(&o.baseline, "baseline", false, "before and after each SMTP case, load a go-smtp sink that appends each message to a file and fsyncs it before 250, and print gentd's rate as a ratio to it")
	fs.BoolVar(&o.intoReader, "into-reader", false, "send the SMTP load into the reader's inbox (the one --seed fills) instead of --inboxes: ingest into a large inbox")
	fs.BoolVar(&o.multipart, "multipart", false, "send multipart messages (text, HTML, an attachment) instead of plain text")
	fs.DurationVar(&o.warmup, "warmup", 3*time.Second, "load before measuring, per case")
	fs.DurationVar(&o.dur, "duration", 10*time.Second, "measured time per case")
	fs.IntVar(&o.count, "count", 0, "measure this many messages per SMTP case instead of --duration")
	fs.IntVar(&o.repeat, "repeat", 1, "run each case this many times and report the run with the median rate")
	seeds := fs.String("seed", "10000", "message counts of the reader's inbox at which the read API is measured (comma-separated, ascending)")
	seedSize := fs.String("seed-size", "2KiB", "size of the seeded messages")
	fs.IntVar(&o.readers, "readers", 8, "concurrent read API clients")
	fs.DurationVar(&o.readDur, "read-duration", 5*time.Second, "measured time per read request kind")
	fs.IntVar(&o.idleSMTP, "idle-smtp", 1000, "idle SMTP connections for the memory figure")
	fs.IntVar(&o.sse, "sse", 200, "idle SSE streams for the memory figure")
	fs.StringVar(&o.pprofDir, "pprof", "", "save a CPU profile of gentd per SMTP/send case into this directory")
	fs.StringVar(&o.dataDir, "data-dir", "", "keep the server's data here and reuse it on the next run (default: a temporary directory, removed)")
	fs.BoolVar(&o.keep, "keep", false, "keep the temporary data directory")
	fs.StringVar(&o.gentd, "gentd", "", "gentd binary to run (default: build ./cmd/gentd)")
	fs.StringVar(&o.logLevel, "log-level", "info", "gentd's log.level")
	env := fs.String("server-env", "", "extra environment for gentd, comma-separated NAME=value")
	fs.IntVar(&o.sendConns, "send-clients", 8, "concurrent send API clients")
	sendSize := fs.String("send-size", "2KiB", "text size of sent messages")
	fs.StringVar(&o.target, "target", "", "SMTP host:port of a running server to load instead of starting one")
	fs.StringVar(&o.httpURL, "http", "", "with --target: the server's API base URL")
	fs.StringVar(&o.token, "token", "", "with --target: an agent token (email:read) of the inbox to read from")
	rcpts := fs.String("rcpt", "", "with --target: recipient addresses for the SMTP load (default: the token's inbox)")
	fs.IntVar(&o.serverPid, "server-pid", 0, "with --target: gentd's pid, to report its CPU and memory")
	fs.StringVar(&o.pprofAddr, "pprof-addr", "", "with --target: the server's debug.pprof_addr")
	fs.StringVar(&o.senderKey, "sender-key", "", "with --target: PKCS#8 PEM RSA key to DKIM-sign as "+senderDomain+" (default: unsigned)")
	fs.StringVar(&o.databaseURL, "database-url", "", "with --target: the server's database, for --seed")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	var err error
	o.scenarios = map[string]bool{}
	for _, s := range strings.Split(*scen, ",") {
		s = strings.TrimSpace(s)
		switch s {
		case "idle", "smtp", "send", "auth", "read":
			o.scenarios[s] = true
		case "":
		default:
			return fmt.Errorf("unknown scenario %q", s)
		}
	}
	if o.sizes, err = parseList(*sizes, parseSize); err != nil {
		return err
	}
	if o.inboxes, err = parseList(*inboxes, atoi); err != nil {
		return err
	}
	if o.seeds, err = parseList(*seeds, atoi); err != nil {
		return err
	}
	if o.seedSize, err = parseSize(*seedSize); err != nil {
		return err
	}
	if o.sendSize, err = parseSize(*sendSize); err != nil {
		return err
	}
	if *env != "" {
		o.serverEnv = strings.Split(*env, ",")
	}
	if *rcpts != "" {
		o.rcpts = strings.Split(*rcpts, ",")
	}
	if o.conns <= 0 || o.readers <= 0 || o.repeat <= 0 {
		return fmt.Errorf("--conns, --readers and --repeat must be positive")
	}
	if o.pprofDir != "" {
		if err := os.MkdirAll(o.pprofDir, 0o755); err != nil {
			return err
		}
	}

	var s *server
	if o.target != "" {
		s, err = targetServer(o)
	} else {
		temp := o.dataDir == ""
		s, err = startServer(o)
		if err == nil && temp && !o.keep {
			defer os.RemoveAll(s.dir)
		}
		if err == nil {
			defer s.stop()
			fmt.Fprintf(out, "gentd: http %s, smtp %s, pprof %s, data %s\n", s.httpURL, s.smtpAddr, s.pprofAddr, s.dir)
		}
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "machine: %d CPUs, %s; %s\n", numCPU(), memTotal(), pgVersion())

	var rows []result
	emit := func(r result) {
		rows = append(rows, r)
		printTable(out, []result{r})
	}
	if o.scenarios["idle"] {
		if o.idleSMTP > 0 {
			r, err := idleSMTP(ctx, s, o.idleSMTP)
			if err != nil {
				return err
			}
			emit(r)
		}
		if o.sse > 0 && s.st.Token != "" {
			r, err := idleSSE(ctx, s, o.sse)
			if err != nil {
				return err
			}
			emit(r)
		}
	}
	if o.scenarios["smtp"] {
		if o.target == "" {
			if err := s.ensureInboxes(o.maxInboxes()); err != nil {
				return err
			}
		}
		var sink *fsyncSink
		if o.baseline {
			dir := s.dir
			if dir == "" {
				dir = os.TempDir()
			}
			if sink, err = startFsyncSink(dir); err != nil {
				return err
			}
			defer sink.Close()
		}
		for _, size := range o.sizes {
			msgs, err := messagePool(256, size, o.multipart, s.senderKey)
			if err != nil {
				return err
			}
			counts := o.inboxes
			if o.intoReader {
				counts = []int{1}
			}
			for _, n := range counts {
				var rcpts []string
				for i := 0; i < n && i < len(s.st.Inboxes); i++ {
					rcpts = append(rcpts, s.st.Inboxes[i].Address)
				}
				shape := "plain"
				if o.multipart {
					shape = "multipart"
				}
				name := fmt.Sprintf("smtp %s %s x%d conns, %d inbox(es)", sizeName(size), shape, o.conns, len(rcpts))
				if o.intoReader {
					rcpts = []string{s.st.Reader.Address}
					held := "?"
					if n, err := inboxSize(ctx, s); err == nil {
						held = strconv.Itoa(n)
					}
					name = fmt.Sprintf("smtp %s %s x%d conns, into the reader inbox (%s messages)", sizeName(size), shape, o.conns, held)
				}
				c := smtpCase{name: name, conns: o.conns, msgs: msgs, rcpts: rcpts, warmup: o.warmup, dur: o.dur, count: o.count}
				gentd := func() result {
					var runs []result
					for i := 0; i < o.repeat && ctx.Err() == nil; i++ {
						runs = append(runs, runSMTP(ctx, s, c, o.pprofDir))
					}
					if len(runs) == 0 {
						return result{name: c.name}
					}
					return median(runs)
				}
				if sink != nil {
					withBaseline(ctx, sink, c, gentd, emit)
				} else {
					emit(gentd())
				}
			}
		}
	}
	if o.scenarios["send"] {
		rs, err := runSendScenario(ctx, s, o)
		if err != nil {
			return err
		}
		for _, r := range rs {
			emit(r)
		}
	}
	if o.scenarios["auth"] && s.st.Token != "" {
		for _, c := range []httpCase{
			{name: "GET /healthz (no auth)", readers: 1, warmup: o.warmup / 2, dur: o.readDur, path: func(*rand.Rand) string { return "/healthz" }},
			{name: "GET /v1/token (token auth)", readers: 1, warmup: o.warmup / 2, dur: o.readDur, path: func(*rand.Rand) string { return "/v1/token" }, bearer: s.st.Token},
		} {
			emit(repeatHTTP(ctx, s, c, o.repeat))
		}
	}
	if o.scenarios["read"] && s.st.Token != "" {
		for _, level := range o.seeds {
			if s.dbURL != "" {
				if err := seed(ctx, s, level, o.seedSize, out); err != nil {
					return err
				}
			}
			ids, err := sampleIDs(ctx, s, 2000)
			if err != nil {
				return err
			}
			if len(ids) == 0 {
				return fmt.Errorf("the reader's inbox is empty: nothing to read")
			}
			if n, err := inboxSize(ctx, s); err == nil && n > 0 {
				level = n
			}
			for _, c := range readCases(s, o, ids, level) {
				emit(repeatHTTP(ctx, s, c, o.repeat))
			}
		}
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	fmt.Fprintln(out, "\nsummary:")
	printTable(out, rows)
	if o.pprofDir != "" {
		fmt.Fprintf(out, "\nCPU profiles in %s; e.g. go tool pprof -top %s\n", o.pprofDir, filepath.Join(o.pprofDir, "<case>.pprof"))
	}
	return nil
}

func sizeName(n int) string {
	switch {
	case n%(1<<20) == 0:
		return fmt.Sprintf("%dMiB", n>>20)
	case n%(1<<10) == 0:
		return fmt.Sprintf("%dKiB", n>>10)
	}
	return fmt.Sprintf("%dB", n)
}

func numCPU() int {
	out, err := exec.Command("nproc").Output()
	if err == nil {
		if n, err := strconv.Atoi(strings.TrimSpace(string(out))); err == nil {
			return n
		}
	}
	return 0
}

func memTotal() string {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return "memory unknown"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "MemTotal:") {
			f := strings.Fields(line)
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return fmt.Sprintf("%.1f GiB RAM", float64(kb)/(1<<20))
		}
	}
	return "memory unknown"
}

func pgVersion() string {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin/postgres")
	if len(dirs) == 0 {
		return "PostgreSQL version unknown"
	}
	out, err := exec.Command(dirs[len(dirs)-1], "--version").Output()
	if err != nil {
		return "PostgreSQL version unknown"
	}
	return strings.TrimSpace(string(out))
}

// repeatHTTP runs an HTTP case n times and keeps the median run.
func repeatHTTP(ctx context.Context, s *server, c httpCase, n int) result {
	var runs []result
	for i := 0; i < n && ctx.Err() == nil; i++ {
		runs = append(runs, runHTTP(ctx, s, c))
	}
	if len(runs) == 0 {
		return result{name: c.name}
	}
	return median(runs)
}
