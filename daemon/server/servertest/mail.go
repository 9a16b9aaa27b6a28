package servertest

import (
	"context"
	"net"
	"time"

	"gorm.io/gorm"

	"gent/daemon/mail"
	"gent/models"
)

// ListenSMTP serves the daemon's inbound SMTP server on a loopback port for
// the rest of the test and returns its address. As in gentd, sessions
// store through the group committer.
func (e *Env) ListenSMTP() string {
	e.T.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		e.T.Fatal(err)
	}
	e.Mail.StartCommitter(mail.CommitOptions{})
	done := make(chan error, 1)
	go func() { done <- e.SMTP.Serve(ln) }()
	e.T.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := e.SMTP.Shutdown(ctx); err != nil {
			e.T.Errorf("smtp shutdown: %v", err)
		}
		if err := <-done; err != nil {
			e.T.Errorf("smtp serve: %v", err)
		}
		e.Mail.StopCommitter()
	})
	return ln.Addr().String()
}

// Deliver stores raw as an inbound message of inbox directly through the
// mail service (no SMTP) and returns it.
func (e *Env) Deliver(inbox models.Inbox, raw string) *mail.Stored {
	e.T.Helper()
	var st *mail.Stored
	err := e.Store.Tx(context.Background(), func(tx *gorm.DB) error {
		var err error
		st, err = e.Mail.Store(context.Background(), tx, mail.StoreInput{
			OrgID: inbox.OrgID, InboxID: inbox.ID, Direction: models.DirectionInbound,
			Status: models.StatusReceived, Raw: []byte(raw),
			Auth: &models.AuthResults{SPF: "none", DKIM: "none", DMARC: "none", Summary: "test; spf=none; dkim=none; dmarc=none"},
		})
		return err
	})
	if err != nil {
		e.T.Fatalf("deliver: %v", err)
	}
	return st
}
