package screening_test

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"gent/daemon/mail"
	"gent/daemon/screening"
	"gent/models"
)

// corpusInput reads one corpus message as the store screens it: parsed
// by mail.Parse, with the authentication results its X-Corpus-Auth
// header names.
func corpusInput(t *testing.T, path string) screening.Input {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	p, err := mail.Parse(raw, mail.DefaultLimits)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	in := screening.Input{Subject: p.Subject, Text: p.Text, HTML: p.HTML}
	for _, a := range p.Attachments {
		in.Attachments = append(in.Attachments, screening.Attachment{Filename: a.Filename, ContentType: a.ContentType})
	}
	for _, h := range p.Headers {
		if strings.EqualFold(h.Name, "X-Corpus-Auth") {
			a := &models.AuthResults{}
			for _, f := range strings.Fields(h.Value) {
				k, v, _ := strings.Cut(f, "=")
				switch k {
				case "spf":
					a.SPF = v
				case "dkim":
					a.DKIM = v
				case "dmarc":
					a.DMARC = v
				}
			}
			in.Auth = a
		}
	}
	return in
}

// TestCorpus screens the labelled corpus (testdata/corpus, written by
// testdata/gencorpus.py) and prints the detection and false-positive
// rates by finding. Targets (issue 20): at least 95% of malicious
// messages at or above the default quarantine score, at most 2% of
// benign ones quarantined.
func TestCorpus(t *testing.T) {
	run := func(dir string) (n, quarantined int, byCode map[string]int, misses []string) {
		files, err := filepath.Glob(filepath.Join("testdata", "corpus", dir, "*.eml"))
		if err != nil || len(files) == 0 {
			t.Fatalf("no corpus in %s: %v", dir, err)
		}
		byCode = map[string]int{}
		for _, f := range files {
			s := screening.Screen(corpusInput(t, f))
			n++
			if s.Score >= screening.DefaultQuarantineAt {
				quarantined++
			} else if dir == "malicious" {
				misses = append(misses, fmt.Sprintf("%s (score %d: %v)", filepath.Base(f), s.Score, s.Findings))
			}
			if dir == "benign" && s.Score >= screening.DefaultQuarantineAt {
				misses = append(misses, fmt.Sprintf("%s (score %d: %v)", filepath.Base(f), s.Score, s.Findings))
			}
			seen := map[string]bool{}
			for _, fd := range s.Findings {
				if !seen[fd.Code] {
					seen[fd.Code] = true
					byCode[fd.Code]++
				}
			}
		}
		return
	}
	report := func(name string, n, q int, byCode map[string]int) {
		codes := make([]string, 0, len(byCode))
		for c := range byCode {
			codes = append(codes, c)
		}
		sort.Strings(codes)
		var b strings.Builder
		for _, c := range codes {
			fmt.Fprintf(&b, " %s %d (%.0f%%)", c, byCode[c], 100*float64(byCode[c])/float64(n))
		}
		t.Logf("%s: %d messages, %d (%.1f%%) at or above %d; messages with each finding:%s", name, n, q,
			100*float64(q)/float64(n), screening.DefaultQuarantineAt, b.String())
	}
	mn, mq, mcodes, mmiss := run("malicious")
	report("malicious", mn, mq, mcodes)
	bn, bq, bcodes, bmiss := run("benign")
	report("benign", bn, bq, bcodes)
	if mn < 60 || bn < 150 {
		t.Errorf("corpus too small: %d malicious, %d benign", mn, bn)
	}
	if mq*100 < mn*95 {
		t.Errorf("detection %d/%d under 95%%; missed:\n%s", mq, mn, strings.Join(mmiss, "\n"))
	}
	if bq*100 > bn*2 {
		t.Errorf("false positives %d/%d over 2%%:\n%s", bq, bn, strings.Join(bmiss, "\n"))
	}
}
