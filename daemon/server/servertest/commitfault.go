package servertest

import (
	"sync/atomic"
	"syscall"
	"time"

	"gent/daemon/mail"
)

// CommitFault makes the next commit of stored mail have an unknown
// outcome, with a real fault: the PostgreSQL backend of the transaction is
// stopped (SIGSTOP) just before COMMIT is sent, so COMMIT times out on the
// client side (after half a second). Once the client has given up, the
// backend is resumed: with commits it then reads the COMMIT waiting in its
// socket and commits; without, it is terminated first
// (pg_terminate_backend) and dies before reading it. The returned function
// reports whether the fault happened.
func (e *Env) CommitFault(commits bool) (fired func() bool) {
	var armed, done atomic.Bool
	var stopped atomic.Int64
	armed.Store(true)
	e.Mail.SetCommitHooks(mail.CommitHooks{
		CommitTimeout: 500 * time.Millisecond,
		BeforeCommit: func(pid int) {
			if !armed.CompareAndSwap(true, false) {
				return
			}
			if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
				e.T.Errorf("stop backend %d: %v", pid, err)
				return
			}
			stopped.Store(int64(pid))
		},
		CommitFailed: func(pid int, _ error) {
			if int64(pid) != stopped.Load() {
				return
			}
			done.Store(true)
			if !commits {
				if err := e.Store.DB.Exec(`SELECT pg_terminate_backend(?)`, pid).Error; err != nil {
					e.T.Errorf("terminate backend %d: %v", pid, err)
				}
			}
			if err := syscall.Kill(pid, syscall.SIGCONT); err != nil {
				e.T.Errorf("resume backend %d: %v", pid, err)
			}
		},
	})
	// Never leave a stopped backend behind (the test database could not
	// be dropped).
	e.T.Cleanup(func() {
		if p := stopped.Load(); p != 0 {
			_ = syscall.Kill(int(p), syscall.SIGCONT)
		}
	})
	return done.Load
}
