package mail_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"gent/daemon/mail"
)

// TestUnknownCommitOutcome: COMMIT times out on the client while the
// PostgreSQL backend is stopped. The caller is told what really happened:
// success when the transaction committed after all (the message stored
// once), an error when it did not (nothing stored) — for a group-commit
// batch and for a transaction of its own.
func TestUnknownCommitOutcome(t *testing.T) {
	for _, batch := range []bool{true, false} {
		for _, commits := range []bool{true, false} {
			t.Run(fmt.Sprintf("batch=%v commits=%v", batch, commits), func(t *testing.T) {
				env, _, in := setup(t)
				fired := env.CommitFault(commits)
				raw := "From: Ada <ada@example.org>\r\nSubject: ambiguous\r\nMessage-ID: <amb@x>\r\n\r\nbody\r\n"
				fn := func(b *mail.Batch) error {
					_, err := b.Store(context.Background(), inbound(in, raw))
					return err
				}
				var err error
				if batch {
					c := env.Mail.NewCommitter(mail.CommitOptions{Workers: 1})
					err = c.Do(context.Background(), fn)
					c.Stop()
				} else {
					err = env.Mail.Alone(context.Background(), fn)
				}
				if !fired() {
					t.Fatal("the fault did not happen: COMMIT did not fail")
				}
				var n, used int64
				env.Store.DB.Raw(`SELECT count(*) FROM messages WHERE subject = 'ambiguous'`).Scan(&n)
				env.Store.DB.Raw(`SELECT used_bytes FROM inboxes WHERE id = ?`, in.ID).Scan(&used)
				if commits {
					if err != nil || n != 1 || used != int64(len(raw)) {
						t.Fatalf("committed: err %v, %d stored, %d bytes used", err, n, used)
					}
					return
				}
				var ue *mail.UnknownCommitError
				if !errors.As(err, &ue) || !ue.Aborted || n != 0 || used != 0 {
					t.Fatalf("not committed: err %v, %d stored, %d bytes used", err, n, used)
				}
			})
		}
	}
}
