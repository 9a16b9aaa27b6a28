// Command genttui is Gent's terminal UI for admins and reviewers.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"gent/tui"
	"gent/tui/styles"
)

func main() {
	if err := run(os.Args, os.Getenv, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "genttui:", err)
		os.Exit(1)
	}
}

func run(args []string, getenv func(string) string, stderr io.Writer) error {
	fs := flag.NewFlagSet("genttui", flag.ContinueOnError)
	fs.SetOutput(stderr)
	server := getenv("GENT_SERVER")
	if server == "" {
		server = "http://127.0.0.1:8080"
	}
	dataDir := getenv("GENT_DATA_DIR")
	if dataDir == "" {
		dataDir = "./var"
	}
	opts := tui.Options{Output: os.Stdout}
	fs.StringVar(&opts.Server, "server", server, "URL of the Gent daemon (env GENT_SERVER)")
	fs.StringVar(&opts.DataDir, "data-dir", dataDir, "data directory of a local gentd, to read the first-run setup code (env GENT_DATA_DIR)")
	fs.StringVar(&opts.ConfigDir, "config-dir", "", "where gent/session.json is kept (default: the user's config directory)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	styles.Profile(getenv)
	m, err := tui.New(opts)
	if err != nil {
		return err
	}
	defer m.Close() // stops the event stream
	p := tea.NewProgram(m, tea.WithAltScreen(), tea.WithMouseCellMotion(), tea.WithOutput(opts.Output))
	defer watchHangup(int(os.Stdin.Fd()), time.Second, p.Kill)()
	_, err = p.Run()
	if errors.Is(err, tea.ErrProgramKilled) {
		return nil // the terminal went away: nothing to report to
	}
	return err
}
