package mail

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files of testdata/corpus")

// golden is what a mail client shows of a message: the golden files hold
// it for every message of the corpus.
type golden struct {
	Subject     string             `json:"subject"`
	From        string             `json:"from"`
	Text        string             `json:"text"`
	HTML        string             `json:"html"`
	Attachments []goldenAttachment `json:"attachments"`
}

type goldenAttachment struct {
	Filename    string `json:"filename"`
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
	Inline      bool   `json:"inline"`
}

// TestCorpus parses every testdata/corpus/NAME.eml (legacy and malformed
// shapes) and compares the result with NAME.golden.json; go test -update
// rewrites the goldens, which are then read by eye.
func TestCorpus(t *testing.T) {
	emls, err := filepath.Glob("testdata/corpus/*.eml")
	if err != nil || len(emls) < 40 {
		t.Fatalf("corpus: %d messages, %v", len(emls), err)
	}
	for _, path := range emls {
		name := strings.TrimSuffix(filepath.Base(path), ".eml")
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			p, err := Parse(raw, Limits{})
			if err != nil {
				t.Fatal(err)
			}
			g := golden{Subject: p.Subject, Text: p.Text, HTML: p.HTML, Attachments: []goldenAttachment{}}
			if p.From.Address != "" {
				g.From = p.From.Name + " <" + p.From.Address + ">"
			}
			for _, a := range p.Attachments {
				g.Attachments = append(g.Attachments, goldenAttachment{a.Filename, a.ContentType, a.Size, a.Inline})
				// The listed size is what a download returns.
				b, err := AttachmentPart(raw, a.Path, Limits{})
				if err != nil || int64(len(b)) != a.Size {
					t.Errorf("attachment %s (%s): %d bytes, %v; listed %d", a.Path, a.Filename, len(b), err, a.Size)
				}
			}
			got, err := json.MarshalIndent(g, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			file := strings.TrimSuffix(path, ".eml") + ".golden.json"
			if *update {
				if err := os.WriteFile(file, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(file)
			if err != nil {
				t.Fatalf("%v (run go test -run TestCorpus -update)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from the golden:\n%s\nwant:\n%s", name, got, want)
			}
		})
	}
}
