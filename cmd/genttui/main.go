// Command genttui is Gent's terminal UI for admins and reviewers.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "genttui: the terminal UI is not yet available in this build")
	os.Exit(1)
}
