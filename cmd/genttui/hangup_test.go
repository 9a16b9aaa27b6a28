package main

import (
	"fmt"
	"os"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// A terminal whose other side closes (its window, tmux pane or ssh
// session gone) is seen as hung up, and only then.
func TestWatchHangup(t *testing.T) {
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.IoctlSetPointerInt(int(master.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(master.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	tty, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer tty.Close()
	gone := make(chan struct{})
	stop := watchHangup(int(tty.Fd()), 10*time.Millisecond, func() { close(gone) })
	defer stop()
	select {
	case <-gone:
		t.Fatal("a live terminal reported as hung up")
	case <-time.After(200 * time.Millisecond):
	}
	master.Close()
	select {
	case <-gone:
	case <-time.After(5 * time.Second):
		t.Fatal("the hangup was not seen")
	}
}
