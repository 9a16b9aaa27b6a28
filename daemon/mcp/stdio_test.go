package mcp_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"gent/models"
)

var (
	buildOnce sync.Once
	gentdBin  string
	buildErr  error
)

// gentd builds the daemon binary once per test run.
func gentd(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "gentd-mcp-test")
		if err != nil {
			buildErr = err
			return
		}
		gentdBin = filepath.Join(dir, "gentd")
		out, err := exec.Command("go", "build", "-o", gentdBin, "gent/cmd/gentd").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return gentdBin
}

// `gentd mcp --server URL` serves the daemon's tools over stdio, with the
// same answers as /mcp, and reports a revoked token as a tool error.
func TestStdio(t *testing.T) {
	h := newHarness(t)
	tok := h.token(observer)
	in := h.env.Deliver(h.inbox, fmt.Sprintf(fixtureMail, "over stdio", "s1"))

	cmd := exec.Command(gentd(t), "mcp", "--server", h.url)
	cmd.Env = append(os.Environ(), "GENT_TOKEN="+tok.Secret)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	client := sdk.NewClient(&sdk.Implementation{Name: "gent-test", Version: "1"}, nil)
	cs, err := client.Connect(context.Background(), &sdk.CommandTransport{Command: cmd, TerminateDuration: 5 * time.Second}, nil)
	if err != nil {
		t.Fatalf("connect over stdio: %v (stderr: %s)", err, stderr.String())
	}
	defer cs.Close()

	httpCS := h.connect(tok.Secret)
	stdioTools, httpTools := toolNames(t, cs), toolNames(t, httpCS)
	if len(stdioTools) != len(httpTools) {
		t.Fatalf("stdio lists %d tools, HTTP %d", len(stdioTools), len(httpTools))
	}
	for name, ht := range httpTools {
		st, ok := stdioTools[name]
		if !ok {
			t.Fatalf("stdio lacks %s", name)
		}
		a, _ := json.Marshal(st)
		b, _ := json.Marshal(ht)
		if !bytes.Equal(a, b) {
			t.Errorf("%s differs:\nstdio %s\nhttp  %s", name, a, b)
		}
	}

	args := map[string]any{"message_id": in.ID}
	viaStdio, viaHTTP := call(t, cs, "get_message", args), call(t, httpCS, "get_message", args)
	a, _ := json.Marshal(viaStdio)
	b, _ := json.Marshal(viaHTTP)
	if viaStdio.IsError || !bytes.Equal(a, b) {
		t.Fatalf("get_message over stdio:\n%s\nover HTTP:\n%s", a, b)
	}
	if er := refused(t, cs, "send_message", map[string]any{"to": []string{"bob@example.net"}, "subject": "x", "text": "x"}); er.Error.Code != models.CodeInsufficientScope {
		t.Fatalf("scope refusal over stdio: %+v", er.Error)
	}

	h.env.MustStatus(204, "DELETE", "/v1/tokens/"+tok.ID, h.org.Owner, nil)
	if er := refused(t, cs, "get_message", args); er.Error.Code != models.CodeUnauthorized {
		t.Fatalf("revoked token over stdio: %+v", er.Error)
	}
}

// The stdio command refuses to start without a token or server.
func TestStdioNeedsTokenAndServer(t *testing.T) {
	bin := gentd(t)
	for _, c := range []struct {
		args []string
		env  string
		want string
	}{
		{[]string{"mcp"}, "GENT_TOKEN=gent_x", "--server URL is required"},
		{[]string{"mcp", "--server", "http://127.0.0.1:1"}, "GENT_TOKEN=", "GENT_TOKEN"},
	} {
		cmd := exec.Command(bin, c.args...)
		cmd.Env = append(os.Environ(), c.env)
		out, err := cmd.CombinedOutput()
		if err == nil || !strings.Contains(string(out), c.want) {
			t.Errorf("gentd %v: want an error naming %q, got %v: %s", c.args, c.want, err, out)
		}
	}
}

// The MCP Inspector's CLI (the reference client) lists the tools of a
// token over HTTP. Run when Node and the package are available.
func TestInspectorCLI(t *testing.T) {
	npx, err := exec.LookPath("npx")
	if err != nil {
		t.Log("MCP Inspector check skipped: npx is not installed")
		return
	}
	const pkg = "@modelcontextprotocol/inspector@latest"
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(ctx, npx, "-y", pkg, "--cli", "--help").CombinedOutput(); err != nil || !strings.Contains(string(out), "--header") {
		t.Logf("MCP Inspector check skipped: %s cannot be fetched or has no --header option (%v): %.300s", pkg, err, out)
		return
	}
	h := newHarness(t)
	tok := h.token(observer)
	out, err := exec.CommandContext(ctx, npx, "-y", pkg, "--cli", h.url+"/mcp", "--transport", "http",
		"--header", "Authorization: Bearer "+tok.Secret, "--method", "tools/list").Output()
	if err != nil {
		t.Fatalf("inspector tools/list: %v\n%s", err, out)
	}
	var list struct {
		Tools []struct{ Name string } `json:"tools"`
	}
	if err := json.Unmarshal(out, &list); err != nil {
		t.Fatalf("inspector output %s: %v", out, err)
	}
	var names []string
	for _, tl := range list.Tools {
		names = append(names, tl.Name)
	}
	slices.Sort(names)
	want := []string{"get_attachment", "get_message", "get_thread", "list_contacts", "list_messages", "list_threads", "search_messages", "wait_for_message", "whoami"}
	if !slices.Equal(names, want) {
		t.Fatalf("inspector lists %v, want %v", names, want)
	}
}
