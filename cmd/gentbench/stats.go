package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// latencies collects request latencies of one scenario.
type latencies []time.Duration

func (l latencies) percentile(p float64) time.Duration {
	if len(l) == 0 {
		return 0
	}
	i := int(float64(len(l)-1) * p)
	return l[i]
}

func (l latencies) sorted() latencies {
	out := append(latencies(nil), l...)
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// clockTick is USER_HZ, the unit of /proc/<pid>/stat times (100 on Linux).
const clockTick = 100

// cpuOf returns the CPU time a process has used, with its waited-for
// children (exited postgres backends end up there).
func cpuOf(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("parse /proc/%d/stat", pid)
	}
	f := strings.Fields(s[i+2:])
	// Fields after the name: state(0) ppid(1) ... utime(11) stime(12) cutime(13) cstime(14).
	var ticks int64
	for _, k := range []int{11, 12, 13, 14} {
		n, _ := strconv.ParseInt(f[k], 10, 64)
		ticks += n
	}
	return time.Duration(ticks) * time.Second / clockTick, nil
}

func ppidOf(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(s[i+2:])
	n, _ := strconv.Atoi(f[1])
	return n
}

// rssOf returns a process's resident set size in bytes.
func rssOf(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			f := strings.Fields(line)
			n, _ := strconv.ParseInt(f[1], 10, 64)
			return n << 10
		}
	}
	return 0
}

// pssOf returns a process's proportional set size in bytes (shared pages
// divided among their users: the fair way to add up postgres processes).
func pssOf(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "Pss:") {
			f := strings.Fields(line)
			n, _ := strconv.ParseInt(f[1], 10, 64)
			return n << 10
		}
	}
	return 0
}

// procs are the server's processes: gentd and the postmaster whose
// children are the postgres backends. Either may be 0 (unknown).
type procs struct {
	gentd      int
	postmaster int
	pgPidFile  string
}

// pg returns the postmaster and its children.
func (p procs) pg() []int {
	pm := p.postmaster
	if pm == 0 && p.pgPidFile != "" {
		if b, err := os.ReadFile(p.pgPidFile); err == nil {
			pm, _ = strconv.Atoi(strings.TrimSpace(strings.SplitN(string(b), "\n", 2)[0]))
		}
	}
	if pm == 0 {
		return nil
	}
	out := []int{pm}
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		pid, err := strconv.Atoi(filepath.Base(d))
		if err == nil && ppidOf(pid) == pm {
			out = append(out, pid)
		}
	}
	return out
}

// sample is the server's resource use at one moment.
type sample struct {
	at       time.Time
	gentdCPU time.Duration
	pgCPU    time.Duration
	// pgClientCPU is the part of pgCPU spent by the backends serving
	// clients (gentd's connections); the rest is PostgreSQL's own work:
	// WAL writer, checkpointer, autovacuum, exited processes.
	pgClientCPU time.Duration
	selfCPU     time.Duration
}

func (p procs) sample() sample {
	s := sample{at: time.Now()}
	if p.gentd != 0 {
		s.gentdCPU, _ = cpuOf(p.gentd)
	}
	for _, pid := range p.pg() {
		c, _ := cpuOf(pid)
		s.pgCPU += c
		if isClientBackend(pid) {
			s.pgClientCPU += c
		}
	}
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		s.selfCPU = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	return s
}

// memory is the server's memory at one moment.
type memory struct {
	gentdRSS int64
	pgPSS    int64
}

func (p procs) memory() memory {
	var m memory
	if p.gentd != 0 {
		m.gentdRSS = rssOf(p.gentd)
	}
	for _, pid := range p.pg() {
		m.pgPSS += pssOf(pid)
	}
	return m
}

func mib(b int64) string {
	if b == 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f", float64(b)/(1<<20))
}

// walMeter reads how much WAL PostgreSQL wrote over a measured window
// (pg_current_wal_lsn before and after); without a database URL it
// measures nothing.
type walMeter struct {
	ctx  context.Context
	conn *pgx.Conn
	from int64
}

func newWALMeter(ctx context.Context, url string) *walMeter {
	m := &walMeter{ctx: ctx}
	if url != "" {
		m.conn, _ = pgx.Connect(ctx, url)
	}
	return m
}

func (m *walMeter) lsn() int64 {
	if m.conn == nil {
		return 0
	}
	var n int64
	if err := m.conn.QueryRow(m.ctx, `SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint`).Scan(&n); err != nil {
		return 0
	}
	return n
}

func (m *walMeter) start() { m.from = m.lsn() }

// stop returns the WAL bytes written since start (0: unknown).
func (m *walMeter) stop() int64 {
	if m.from == 0 {
		return 0
	}
	if to := m.lsn(); to > m.from {
		return to - m.from
	}
	return 0
}

func (m *walMeter) close() {
	if m.conn != nil {
		m.conn.Close(context.Background())
	}
}

// isClientBackend reports a postgres process serving a client connection
// (its title is "postgres: user database host ...", not one of the
// server's own processes such as "postgres: walwriter").
func isClientBackend(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return false
	}
	title := strings.TrimRight(string(b), "\x00")
	if !strings.HasPrefix(title, "postgres: ") {
		return false
	}
	for _, own := range []string{"checkpointer", "background writer", "walwriter", "autovacuum", "logical replication",
		"stats collector", "archiver", "walsender", "walreceiver", "startup", "parallel worker"} {
		if strings.HasPrefix(title[len("postgres: "):], own) {
			return false
		}
	}
	return true
}
