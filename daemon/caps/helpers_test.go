package caps_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/emersion/go-smtp"
	"gorm.io/gorm"

	"gent/daemon/mail"
	"gent/daemon/server/servertest"
	"gent/models"
)

type harness struct {
	t     *testing.T
	env   *servertest.Env
	org   servertest.Org
	inbox models.Inbox
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	env := servertest.New(t)
	org := env.Setup()
	env.VerifiedDomain(org, "mail.example.com")
	return &harness{t: t, env: env, org: org, inbox: env.Inbox(org, "agent@mail.example.com")}
}

// message returns a message of exactly size bytes.
func message(size int, tag string) []byte {
	head := "From: Ada <ada@example.org>\r\nTo: agent@mail.example.com\r\nSubject: " + tag + "\r\n\r\n"
	n := size - len(head) - 2
	if n < 0 {
		panic(fmt.Sprintf("message of %d bytes is too small for its header", size))
	}
	return []byte(head + strings.Repeat("x", n) + "\r\n")
}

// store stores raw in inbox through the mail service.
func (h *harness) store(in models.Inbox, raw []byte) (*mail.Stored, error) {
	var st *mail.Stored
	err := h.env.Store.Tx(context.Background(), func(tx *gorm.DB) error {
		var err error
		st, err = h.env.Mail.Store(context.Background(), tx, mail.StoreInput{OrgID: in.OrgID, InboxID: in.ID,
			Direction: models.DirectionInbound, Status: models.StatusReceived, Raw: raw})
		return err
	})
	return st, err
}

func (h *harness) mustStore(in models.Inbox, raw []byte) *mail.Stored {
	h.t.Helper()
	st, err := h.store(in, raw)
	if err != nil {
		h.t.Fatalf("store %d bytes: %v", len(raw), err)
	}
	return st
}

func (h *harness) put(body any) *servertest.Response {
	h.t.Helper()
	return h.env.Do("PUT", "/v1/billing/caps/mailbox/", h.org.Owner, body)
}

// setCap sets a cap of limit bytes.
func (h *harness) setCap(in models.Inbox, limit int64, mode string, thresholds ...int) models.MailboxCap {
	h.t.Helper()
	gb := float64(limit) / models.BytesPerGB
	if thresholds == nil {
		thresholds = []int{}
	}
	var v models.MailboxCap
	h.env.MustStatus(200, "PUT", "/v1/billing/caps/mailbox", h.org.Owner, models.SetCapRequest{
		InboxID: in.ID, LimitGB: &gb, Mode: mode, AlertThresholds: thresholds}).JSON(h.t, &v)
	if v.Cap == nil || v.Cap.LimitBytes != limit {
		h.t.Fatalf("cap %+v, want a limit of %d bytes", v.Cap, limit)
	}
	return v
}

func (h *harness) view(in models.Inbox) models.MailboxCap {
	h.t.Helper()
	var v models.MailboxCap
	h.env.MustStatus(200, "GET", "/v1/billing/caps/mailbox/"+in.ID, h.org.Owner, nil).JSON(h.t, &v)
	return v
}

func (h *harness) count(q string, args ...any) int64 {
	h.t.Helper()
	var n int64
	if err := h.env.Store.DB.Raw(q, args...).Scan(&n).Error; err != nil {
		h.t.Fatal(err)
	}
	return n
}

func (h *harness) used(in models.Inbox) int64 {
	return h.count(`SELECT used_bytes FROM inboxes WHERE id = ?`, in.ID)
}

// crossings lists the thresholds of the cap.threshold_crossed events of an
// inbox, oldest first.
func (h *harness) crossings(in models.Inbox) []int {
	h.t.Helper()
	var evs []models.Event
	if err := h.env.Store.DB.Where("type = ? AND inbox_id = ?", models.EventCapThresholdCrossed, in.ID).Order("id").Find(&evs).Error; err != nil {
		h.t.Fatal(err)
	}
	out := []int{}
	for _, e := range evs {
		out = append(out, int(e.Payload["threshold"].(float64)))
	}
	return out
}

// sendSMTP delivers one message over SMTP and returns the error of the
// first refused step (nil: 250 at the end of DATA).
func sendSMTP(addr, to string, msg []byte) error {
	c, err := smtp.Dial(addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Hello("client.example.org"); err != nil {
		return err
	}
	if err := c.Mail("ada@example.org", nil); err != nil {
		return err
	}
	if err := c.Rcpt(to, nil); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(msg); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}

// smtpCode is "452 4.2.2" for an SMTP error, "" for nil.
func smtpCode(err error) string {
	if err == nil {
		return ""
	}
	var se *smtp.SMTPError
	if !errors.As(err, &se) {
		return err.Error()
	}
	return fmt.Sprintf("%d %d.%d.%d", se.Code, se.EnhancedCode[0], se.EnhancedCode[1], se.EnhancedCode[2])
}

func intsEqual(a, b []int) bool {
	return fmt.Sprint(a) == fmt.Sprint(b)
}
