package smtpin_test

import (
	"testing"
)

// TestAmbiguousCommit: the database backend committing a message is
// stopped, so COMMIT times out in gentd. When the transaction commits
// after all the client gets 250 and the message is stored once (a 451
// would make it send a second copy); when it surely did not, 451 and
// nothing stored.
func TestAmbiguousCommit(t *testing.T) {
	for _, tc := range []struct {
		name    string
		commits bool
		want    string
		stored  int64
	}{
		{"committed after all", true, "250 2.0.0 ", 1},
		{"not committed", false, "451 4.3.0 ", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			fired := h.env.CommitFault(tc.commits)
			d := h.dial()
			d.t = t
			d.envelope()
			d.cmd("DATA", "354 ")
			d.write(simpleMessage("ambiguous") + ".\r\n")
			d.expect(tc.want)
			if !fired() {
				t.Fatal("the fault did not happen: COMMIT did not fail")
			}
			if n := h.count(`SELECT count(*) FROM messages WHERE subject = 'ambiguous'`); n != tc.stored {
				t.Fatalf("stored %d, want %d", n, tc.stored)
			}
			d.cmd("QUIT", "221 ")
		})
	}
}
