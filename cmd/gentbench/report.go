package main

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

// result is one measured scenario.
type result struct {
	name    string
	ops     int     // messages or requests completed
	errors  int     // failed ones
	rate    float64 // ops per second
	mbps    float64 // payload MB/s (0: not applicable)
	lat     latencies
	cpuOp   time.Duration // gentd + postgres CPU per op (0: unknown)
	gentdOp time.Duration
	pgOp    time.Duration
	client  time.Duration // load generator CPU per op
	mem     memory
	walOp   int64 // PostgreSQL WAL bytes written per op (0: unknown)
	note    string
}

func measure(name string, ops, errs int, bytes int64, lat latencies, before, after sample, mem memory) result {
	r := result{name: name, ops: ops, errors: errs, lat: lat.sorted(), mem: mem}
	el := after.at.Sub(before.at).Seconds()
	if el > 0 {
		r.rate = float64(ops) / el
		if bytes > 0 {
			r.mbps = float64(bytes) / el / 1e6
		}
	}
	if ops > 0 {
		r.gentdOp = (after.gentdCPU - before.gentdCPU) / time.Duration(ops)
		r.pgOp = (after.pgCPU - before.pgCPU) / time.Duration(ops)
		r.cpuOp = r.gentdOp + r.pgOp
		if client := (after.pgClientCPU - before.pgClientCPU) / time.Duration(ops); r.pgOp > 0 {
			r.note = fmt.Sprintf("PostgreSQL per op: backends %s µs, its own processes (WAL writer, checkpointer, autovacuum, exited) %s µs;",
				us(client), us(r.pgOp-client))
		}
		r.client = (after.selfCPU - before.selfCPU) / time.Duration(ops)
	}
	return r
}

// median picks, of repeated runs of one scenario, the run with the median
// rate (its latencies and costs stay those of one real run).
func median(runs []result) result {
	if len(runs) == 1 {
		return runs[0]
	}
	s := append([]result(nil), runs...)
	sort.Slice(s, func(i, j int) bool { return s[i].rate < s[j].rate })
	m := s[len(s)/2]
	var rates []string
	for _, r := range runs {
		rates = append(rates, fmt.Sprintf("%.0f", r.rate))
	}
	m.note = strings.TrimSpace(m.note + " runs/s: " + strings.Join(rates, " "))
	return m
}

func ms(d time.Duration) string {
	if d == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f", float64(d)/float64(time.Millisecond))
}

func us(d time.Duration) string {
	if d == 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f", float64(d)/float64(time.Microsecond))
}

func printTable(w io.Writer, rows []result) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scenario\tops\terr\tops/s\tMB/s\tp50 ms\tp95 ms\tp99 ms\tcpu µs/op\tgentd µs/op\tpg µs/op\tclient µs/op\tgentd RSS MiB\tpg PSS MiB\tWAL KiB/op\t")
	for _, r := range rows {
		mb := "-"
		if r.mbps > 0 {
			mb = fmt.Sprintf("%.1f", r.mbps)
		}
		wal := "-"
		if r.walOp > 0 {
			wal = fmt.Sprintf("%.1f", float64(r.walOp)/1024)
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.0f\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", r.name, r.ops, r.errors, r.rate, mb,
			ms(r.lat.percentile(0.50)), ms(r.lat.percentile(0.95)), ms(r.lat.percentile(0.99)),
			us(r.cpuOp), us(r.gentdOp), us(r.pgOp), us(r.client), mib(r.mem.gentdRSS), mib(r.mem.pgPSS), wal)
	}
	tw.Flush()
	for _, r := range rows {
		if r.note != "" {
			fmt.Fprintf(w, "  %s: %s\n", r.name, r.note)
		}
	}
}
