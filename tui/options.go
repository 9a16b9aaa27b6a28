// Package tui is genttui, Gent's terminal UI: the root model that holds
// the screen stack, the sign-in flow, and the frame (header, status line,
// help) around the screens in tui/screens.
package tui

import (
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
)

// Options configure the TUI.
type Options struct {
	// Server is the daemon's base URL, e.g. http://127.0.0.1:8080.
	Server string
	// DataDir is the local daemon's data directory, where it writes the
	// first-run setup code.
	DataDir string
	// ConfigDir holds gent/session.json; empty: os.UserConfigDir().
	ConfigDir string
	// HTTPClient is used for API calls; nil: a client with a 30 s timeout.
	HTTPClient *http.Client
	// Output is the terminal the program draws on (tea.WithOutput); copy
	// keys write the clipboard escape sequence (OSC 52) to it. Nil: the
	// copy keys say the clipboard cannot be reached.
	Output io.Writer
}

// localSetupCode reads the setup code the daemon wrote under dataDir, when
// the server is on this machine. It returns "" otherwise.
func localSetupCode(server, dataDir string) (code, path string) {
	u, err := url.Parse(server)
	if err != nil || !isLoopback(u.Hostname()) || dataDir == "" {
		return "", ""
	}
	path = filepath.Join(dataDir, "setup-code")
	b, err := os.ReadFile(path)
	if err != nil {
		return "", ""
	}
	return strings.TrimSpace(string(b)), path
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") || strings.HasSuffix(strings.ToLower(host), ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
