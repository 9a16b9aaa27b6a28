package delivery

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net/textproto"
	"strings"
	"time"

	"github.com/emersion/go-message"
	"gorm.io/gorm"

	"gent/models"
)

type bounce struct {
	addr string
	r    result
	mx   string
	// cancelled by an admin (POST /v1/deliveries/{id}/cancel).
	cancelled bool
}

// bounceTx stores a delivery status notification (RFC 3464) in the sending
// inbox, emits message.bounced, and suppresses hard-bounced addresses.
func (s *Service) bounceTx(ctx context.Context, tx *gorm.DB, o *sendRow, bs []bounce) error {
	var inbox struct{ Address string }
	if err := tx.Raw(`SELECT address FROM inboxes WHERE id = ?`, o.InboxID).Scan(&inbox).Error; err != nil {
		return fmt.Errorf("load inbox: %w", err)
	}
	dsn, err := s.buildDSN(o, inbox.Address, bs)
	if err != nil {
		return err
	}
	noticeID, err := s.local.StoreNotice(ctx, tx, o.OrgID, o.InboxID, dsn)
	if err != nil {
		return fmt.Errorf("store bounce notice: %w", err)
	}
	for _, b := range bs {
		// A 5xx from the remote (or ours for a hosted mailbox) is a hard
		// bounce; giving up after retries is not.
		if b.r.code >= 500 {
			if err := tx.Exec(`INSERT INTO suppressions (inbox_id, address, org_id, reason, message_id) VALUES (?, ?, ?, ?, ?)
				ON CONFLICT (inbox_id, address) DO NOTHING`, o.InboxID, b.addr, o.OrgID, "hard bounce: "+b.r.response(), o.ID).Error; err != nil {
				return fmt.Errorf("suppress %s: %w", b.addr, err)
			}
		}
		payload := map[string]any{
			"message_id": o.ID, "recipient": b.addr, "response": b.r.response(), "notice_id": noticeID,
			"suppressed": b.r.code >= 500,
		}
		if b.cancelled {
			payload["cancelled"] = true
		}
		if _, err := s.events.Emit(ctx, tx, o.OrgID, o.InboxID, models.EventMessageBounced, payload); err != nil {
			return err
		}
	}
	return nil
}

func statusCode(r result) string {
	if r.enhanced != "" {
		return r.enhanced
	}
	if r.code >= 500 {
		return "5.0.0"
	}
	return "4.0.0"
}

// buildDSN writes a multipart/report; report-type=delivery-status message.
func (s *Service) buildDSN(o *sendRow, to string, bs []bounce) ([]byte, error) {
	now := s.now().UTC()
	var h message.Header
	h.Set("From", fmt.Sprintf("Mail Delivery System <mailer-daemon@%s>", s.hostname))
	h.Set("To", to)
	h.Set("Subject", "Undelivered Mail Returned to Sender")
	h.Set("Date", now.Format(time.RFC1123Z))
	h.Set("Message-Id", fmt.Sprintf("<%s.dsn@%s>", strings.ToLower(models.NewID("")), s.hostname))
	h.Set("Auto-Submitted", "auto-generated")
	h.Set("In-Reply-To", o.MessageIDHeader)
	h.Set("References", o.MessageIDHeader)
	h.Set("MIME-Version", "1.0")
	h.SetContentType("multipart/report", map[string]string{"report-type": "delivery-status"})
	var buf bytes.Buffer
	w, err := message.CreateWriter(&buf, h)
	if err != nil {
		return nil, fmt.Errorf("build DSN: %w", err)
	}

	var text strings.Builder
	text.WriteString("Your message could not be delivered to the following recipients:\r\n\r\n")
	for _, b := range bs {
		fmt.Fprintf(&text, "  <%s>: %s\r\n", b.addr, b.r.response())
	}
	text.WriteString("\r\nThe original message's headers are attached.\r\n")
	if err := writePart(w, "text/plain", map[string]string{"charset": "utf-8"}, text.String()); err != nil {
		return nil, err
	}

	var ds strings.Builder
	fmt.Fprintf(&ds, "Reporting-MTA: dns; %s\r\nArrival-Date: %s\r\n", s.hostname, o.CreatedAt.UTC().Format(time.RFC1123Z))
	for _, b := range bs {
		fmt.Fprintf(&ds, "\r\nFinal-Recipient: rfc822; %s\r\nAction: failed\r\nStatus: %s\r\n", b.addr, statusCode(b.r))
		if b.mx != "" {
			fmt.Fprintf(&ds, "Remote-MTA: dns; %s\r\n", b.mx)
		}
		if b.r.code > 0 {
			fmt.Fprintf(&ds, "Diagnostic-Code: smtp; %s\r\n", oneLine(b.r.response()))
		} else {
			fmt.Fprintf(&ds, "Diagnostic-Code: x-gent; %s\r\n", oneLine(b.r.response()))
		}
		fmt.Fprintf(&ds, "Last-Attempt-Date: %s\r\n", now.Format(time.RFC1123Z))
	}
	if err := writePart(w, "message/delivery-status", nil, ds.String()); err != nil {
		return nil, err
	}
	if err := writePart(w, "text/rfc822-headers", nil, originalHeaders(o.Raw)); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("build DSN: %w", err)
	}
	return buf.Bytes(), nil
}

func writePart(w *message.Writer, ct string, params map[string]string, body string) error {
	var ph message.Header
	ph.SetContentType(ct, params)
	pw, err := w.CreatePart(ph)
	if err != nil {
		return fmt.Errorf("build DSN: %w", err)
	}
	if _, err := pw.Write([]byte(body)); err != nil {
		return fmt.Errorf("build DSN: %w", err)
	}
	return pw.Close()
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// originalHeaders returns the header section of raw (or a note when the
// queue's copy is gone).
func originalHeaders(raw []byte) string {
	if len(raw) == 0 {
		return "X-Gent-Note: the original message is no longer queued\r\n"
	}
	tp := textproto.NewReader(bufio.NewReader(bytes.NewReader(raw)))
	var b strings.Builder
	for {
		line, err := tp.ReadContinuedLine()
		if err != nil || line == "" {
			break
		}
		b.WriteString(line)
		b.WriteString("\r\n")
	}
	return b.String()
}
