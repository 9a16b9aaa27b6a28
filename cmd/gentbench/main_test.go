package main

import (
	"os"
	"testing"
	"time"
)

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int{"1KiB": 1024, "10k": 10240, "2MiB": 2 << 20, "512": 512} {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "KiB", "-1", "ten"} {
		if _, err := parseSize(bad); err == nil {
			t.Errorf("parseSize(%q) accepted", bad)
		}
	}
}

func TestPercentilesAndMedian(t *testing.T) {
	var l latencies
	for i := 100; i >= 1; i-- {
		l = append(l, time.Duration(i)*time.Millisecond)
	}
	s := l.sorted()
	if s.percentile(0.5) != 50*time.Millisecond || s.percentile(0.99) != 99*time.Millisecond || s.percentile(1) != 100*time.Millisecond {
		t.Fatalf("p50 %v p99 %v max %v", s.percentile(0.5), s.percentile(0.99), s.percentile(1))
	}
	m := median([]result{{name: "x", rate: 30}, {name: "x", rate: 10}, {name: "x", rate: 20}})
	if m.rate != 20 || m.note != "runs/s: 30 10 20" {
		t.Fatalf("median %+v", m)
	}
}

// The process figures come from /proc: this process has used some CPU
// and holds some memory.
func TestProcFigures(t *testing.T) {
	c, err := cpuOf(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if c < 0 || rssOf(os.Getpid()) <= 0 || ppidOf(os.Getpid()) != os.Getppid() {
		t.Fatalf("cpu %v rss %d ppid %d", c, rssOf(os.Getpid()), ppidOf(os.Getpid()))
	}
}
