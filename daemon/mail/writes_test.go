package mail_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"gent/daemon/mail"
	"gent/models"
)

// labelWriter collects one label per unit and writes them all at the end
// of the batch, in one statement.
type labelWriter struct {
	ids    []string
	labels []string
	fail   bool
	writes *int
}

func (w *labelWriter) Flush(ctx context.Context, tx *gorm.DB) error {
	if w.fail {
		return errors.New("flush failed")
	}
	*w.writes++
	return tx.Exec(`UPDATE messages m SET labels = array_append(m.labels, u.label)
		FROM unnest(?::text[], ?::text[]) AS u(id, label) WHERE m.id = u.id`,
		models.StringArray(w.ids), models.StringArray(w.labels)).Error
}

// A batch's writers collect the rows of all its units and write them once,
// before the commit, in its transaction; a unit run alone writes its own.
// A writer that fails fails the batch, whose units are then run alone.
func TestBatchWritesOncePerTransaction(t *testing.T) {
	env, _, in := setup(t)
	c := env.Mail.NewCommitter(mail.CommitOptions{Workers: 1, MaxWait: 50 * time.Millisecond})
	defer c.Stop()
	var (
		mu        sync.Mutex
		writes    int
		failFirst bool
	)
	round := func(name string) {
		t.Helper()
		var wg sync.WaitGroup
		errs := make([]error, 10)
		for i := range errs {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				errs[i] = c.Do(context.Background(), func(b *mail.Batch) error {
					raw := fmt.Sprintf("From: a@example.org\r\nSubject: %s %d\r\n\r\nx\r\n", name, i)
					st, err := b.Store(context.Background(), inbound(in, raw))
					if err != nil {
						return err
					}
					mu.Lock()
					defer mu.Unlock()
					w := b.Writes("test.labels", func() mail.BatchWriter {
						w := &labelWriter{writes: &writes, fail: failFirst}
						failFirst = false
						return w
					}).(*labelWriter)
					w.ids, w.labels = append(w.ids, st.ID), append(w.labels, fmt.Sprintf("%s-%d", name, i))
					return nil
				})
			}(i)
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("%s unit %d: %v", name, i, err)
			}
		}
		var rows []struct {
			Subject string
			Labels  models.StringArray
		}
		env.Store.DB.Raw(`SELECT subject, labels FROM messages WHERE inbox_id = ? AND subject LIKE ? ORDER BY subject`, in.ID, name+" %").Scan(&rows)
		if len(rows) != 10 {
			t.Fatalf("%s: %d messages stored, want 10", name, len(rows))
		}
		for _, r := range rows {
			var n int
			fmt.Sscanf(r.Subject, name+" %d", &n)
			if len(r.Labels) != 1 || r.Labels[0] != fmt.Sprintf("%s-%d", name, n) {
				t.Fatalf("%s: labels %v", r.Subject, r.Labels)
			}
		}
	}
	round("grouped")
	if writes >= 10 {
		t.Fatalf("%d flushes for 10 units: the writer wrote per unit", writes)
	}
	// The first batch's writer fails: its units are run alone, each
	// writing its own row.
	failFirst = true
	round("alone")
}
