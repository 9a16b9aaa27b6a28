package tui

import (
	"os"

	"github.com/charmbracelet/x/ansi"
)

func displayWidth(s string) int         { return ansi.StringWidth(s) }
func writeFile(path, data string) error { return os.WriteFile(path, []byte(data), 0o600) }
