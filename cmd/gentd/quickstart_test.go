package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"gent/daemon/store/storetest"
)

// docBlock is one ```sh block of a document and the output shown under it
// (a ```text block right after it), if any.
type docBlock struct {
	line   int
	code   string
	output *string
}

// shellBlocks extracts the runnable blocks of a Markdown document: ```sh
// blocks, each with the ```text block that follows it (blank lines
// between them allowed) as its expected output.
func shellBlocks(doc string) ([]docBlock, error) {
	var blocks []docBlock
	sc := bufio.NewScanner(strings.NewReader(doc))
	n, lastEnd := 0, -1
	for sc.Scan() {
		n++
		line := sc.Text()
		if !strings.HasPrefix(line, "```") || len(line) == 3 {
			if strings.TrimSpace(line) != "" {
				lastEnd = -1 // prose between a block and the next
			}
			continue
		}
		info, start := strings.TrimPrefix(line, "```"), n
		var body []string
		closed := false
		for sc.Scan() {
			n++
			if sc.Text() == "```" {
				closed = true
				break
			}
			body = append(body, sc.Text())
		}
		if !closed {
			return nil, fmt.Errorf("line %d: unclosed code block", start)
		}
		text := strings.Join(body, "\n")
		switch {
		case info == "sh":
			blocks = append(blocks, docBlock{line: start, code: text})
			lastEnd = len(blocks) - 1
		case info == "text" && lastEnd >= 0:
			blocks[lastEnd].output = &text
			lastEnd = -1
		default:
			lastEnd = -1
		}
	}
	return blocks, sc.Err()
}

// outputPattern turns a document's expected output into a regular
// expression: exact text, where … stands for any non-blank run.
func outputPattern(want string) *regexp.Regexp {
	parts := strings.Split(strings.TrimSpace(want), "…")
	for i, p := range parts {
		parts[i] = regexp.QuoteMeta(p)
	}
	return regexp.MustCompile(`^` + strings.Join(parts, `\S+`) + `$`)
}

// TestQuickstart runs every shell block of docs/quickstart.md, in order
// and in one bash, against a gentd built and started here (harness
// PostgreSQL, free ports), and checks each output the document shows; a
// block shown without output must print nothing. Outbound mail would go to
// a loopback listener that fails the test if anything connects: the
// quickstart's mail is captured, never sent.
func TestQuickstart(t *testing.T) {
	for _, tool := range []string{"bash", "curl", "jq"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("the quickstart needs %s: install it (apt-get install %s)", tool, tool)
		}
	}
	doc, err := os.ReadFile("../../docs/quickstart.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks, err := shellBlocks(string(doc))
	if err != nil {
		t.Fatal(err)
	}
	if len(blocks) < 8 {
		t.Fatalf("found only %d shell blocks in docs/quickstart.md", len(blocks))
	}

	trap, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer trap.Close()
	go func() {
		for {
			c, err := trap.Accept()
			if err != nil {
				return
			}
			t.Errorf("outbound connection attempted from %s", c.RemoteAddr())
			c.Close()
		}
	}()

	dir := t.TempDir()
	bin := filepath.Join(dir, "gentd")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	d := &daemon{t: t, bin: bin, dataDir: filepath.Join(dir, "data"), env: []string{
		"GENT_DATABASE_URL=" + storetest.NewURL(t), "GENT_LOG_LEVEL=warn",
		"GENT_DNS_RESOLVER=127.0.0.1:9", "GENT_DNS_TIMEOUT=100ms",
		fmt.Sprintf("GENT_OUTBOUND_PORT=%d", trap.Addr().(*net.TCPAddr).Port),
	}}
	t.Cleanup(func() {
		if d.cmd != nil && d.cmd.ProcessState == nil {
			_ = d.cmd.Process.Kill()
			_ = d.cmd.Wait()
		}
	})
	d.start()

	// One script; a marker line before each block splits the output.
	rewrite := strings.NewReplacer("127.0.0.1:8080", d.addr, "127.0.0.1:2525", d.smtpAddr,
		"var/setup-code", filepath.Join(d.dataDir, "setup-code"))
	var script strings.Builder
	script.WriteString("set -e -o pipefail\n")
	const marker = "@@gent-quickstart-block@@"
	for _, b := range blocks {
		fmt.Fprintf(&script, "echo %s\n%s\n", marker, rewrite.Replace(b.code))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	work := t.TempDir()
	cmd := exec.CommandContext(ctx, "bash", "-c", script.String())
	cmd.Dir = work
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()

	outs := strings.Split(stdout.String(), marker+"\n")[1:]
	for i, b := range blocks {
		if i >= len(outs) {
			t.Fatalf("docs/quickstart.md line %d: the script stopped before this block: %v\nstderr:\n%s\ngentd:\n%s",
				b.line, runErr, stderr.String(), d.out.String())
		}
		got := strings.TrimSpace(outs[i])
		want := ""
		if b.output != nil {
			want = *b.output
		}
		if !outputPattern(want).MatchString(got) {
			t.Errorf("docs/quickstart.md line %d:\n%s\nwant output:\n%s\ngot:\n%s\nstderr:\n%s",
				b.line, b.code, want, got, stderr.String())
		}
	}
	if runErr != nil {
		t.Fatalf("the quickstart's commands failed: %v\nstderr:\n%s", runErr, stderr.String())
	}

	// The three commands make run prints after the setup code, with the
	// email and password the quickstart chose: they end with a token.
	runSh, err := os.ReadFile("../../scripts/run.sh")
	if err != nil {
		t.Fatal(err)
	}
	three := firstRunCommands(string(runSh))
	if len(three) != 3 {
		t.Fatalf("scripts/run.sh prints %d first-run commands, want 3: %q", len(three), three)
	}
	fill := strings.NewReplacer("@URL@", "http://"+d.addr, "YOUR EMAIL", "owner@acme.test", "YOUR PASSWORD", "correct horse battery")
	cmd = exec.CommandContext(ctx, "bash", "-c", "set -e -o pipefail\n"+fill.Replace(strings.Join(three, "\n")))
	cmd.Dir = work
	out, err := cmd.CombinedOutput()
	if err != nil || !outputPattern("gent_…").MatchString(strings.TrimSpace(string(out))) {
		t.Fatalf("make run's first-run commands: %v\n%s", err, out)
	}
}

// firstRunCommands returns the command lines run.sh prints on first run:
// the indented lines of its quoted here-document.
func firstRunCommands(script string) []string {
	_, rest, ok := strings.Cut(script, "<<'EOF'\n")
	if !ok {
		return nil
	}
	body, _, _ := strings.Cut(rest, "\nEOF\n")
	var out []string
	for _, l := range strings.Split(body, "\n") {
		if strings.HasPrefix(l, "  ") && strings.TrimSpace(l) != "" {
			out = append(out, strings.TrimSpace(l))
		}
	}
	return out
}

// The extraction itself: sh blocks, their outputs, prose breaking the pair.
func TestShellBlocks(t *testing.T) {
	doc := "# T\n\n```console\n$ make run\n```\n\n```sh\necho a\n```\n\n```text\na\n```\n\n" +
		"```sh\ntrue\n```\nprose\n```text\nnot an output\n```\n```sh\necho b\necho c\n```\n```text\nb\n…\n```\n"
	blocks, err := shellBlocks(doc)
	if err != nil {
		t.Fatal(err)
	}
	if len(blocks) != 3 || blocks[0].code != "echo a" || *blocks[0].output != "a" || blocks[1].output != nil ||
		blocks[2].code != "echo b\necho c" || *blocks[2].output != "b\n…" {
		t.Fatalf("blocks: %+v", blocks)
	}
	if !outputPattern("inb_…").MatchString("inb_01abc") || outputPattern("inb_…").MatchString("inb_") ||
		outputPattern("a").MatchString("ab") {
		t.Fatal("output pattern")
	}
	if _, err := shellBlocks("```sh\nunclosed\n"); err == nil {
		t.Fatal("unclosed block accepted")
	}
}
