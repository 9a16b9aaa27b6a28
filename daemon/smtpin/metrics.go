package smtpin

import (
	"errors"
	"io"

	"github.com/emersion/go-smtp"
)

// tlsCounted is a session under TLS whose MAIL, RCPT and DATA replies are
// counted here: below TLS the connection (replyCounter) sees only
// ciphertext. Its other replies (EHLO, NOOP, syntax errors…) are not
// counted; docs/operations.md says so.
type tlsCounted struct{ *session }

func (t *tlsCounted) count(err error) error {
	code := 250
	var se *smtp.SMTPError
	switch {
	case err == nil:
	case errors.As(err, &se):
		code = se.Code
	default:
		code = 451 // go-smtp answers other errors 451 4.0.0
	}
	t.s.met.SMTPReplyCode(code)
	return err
}

func (t *tlsCounted) Mail(from string, o *smtp.MailOptions) error {
	return t.count(t.session.Mail(from, o))
}
func (t *tlsCounted) Rcpt(to string, o *smtp.RcptOptions) error {
	return t.count(t.session.Rcpt(to, o))
}
func (t *tlsCounted) Data(r io.Reader) error { return t.count(t.session.Data(r)) }
