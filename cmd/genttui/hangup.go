package main

import (
	"errors"
	"time"

	"golang.org/x/sys/unix"
)

// watchHangup calls gone once the terminal on fd has been hung up (its
// window closed): the kernel sends SIGHUP only to the terminal's session
// leader, and a TUI started below one that outlives the hangup (make run)
// would otherwise keep running against a dead terminal, and its script
// would keep gentd running too. A hung-up terminal answers every request
// with EIO. It returns a function that stops the watch.
func watchHangup(fd int, every time.Duration, gone func()) (stop func()) {
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				if _, err := unix.IoctlGetTermios(fd, unix.TCGETS); errors.Is(err, unix.EIO) {
					gone()
					return
				}
			}
		}
	}()
	return func() { close(done) }
}
