package smtpin_test

import (
	"testing"
)

// TestPostmaster: postmaster@ is accepted for every domain that receives
// mail (RFC 5321 §4.5.1), whatever its case and whether or not an inbox
// has that address: an inbox named postmaster@ receives it, else the
// domain's oldest inbox, labelled "postmaster"; a domain without any
// inbox refuses it. Caps apply as to any mail.
func TestPostmaster(t *testing.T) {
	h := newHarness(t)
	h.env.Inbox(h.org, "zed@mail.example.com") // younger than agent@
	h.env.VerifiedDomain(h.org, "empty.example.com")
	other := h.env.OtherOrg("Other")
	h.env.VerifiedDomain(other, "other.example.net")
	otherInbox := h.env.Inbox(other, "first@other.example.net")

	where := func(subject string) (inbox, rcpt string, postmaster bool) {
		t.Helper()
		var row struct {
			InboxID    string
			RcptTo     string
			Postmaster bool
		}
		if err := h.env.Store.DB.Raw(`SELECT inbox_id, rcpt_to, 'postmaster' = ANY(labels) AS postmaster
			FROM messages WHERE subject = ?`, subject).Scan(&row).Error; err != nil || row.InboxID == "" {
			t.Fatalf("message %q not stored (%v)", subject, err)
		}
		return row.InboxID, row.RcptTo, row.Postmaster
	}

	d := h.dial()
	d.t = t
	d.cmd("EHLO client.example.org", "250 ")
	d.cmd("MAIL FROM:<ada@example.org>", "250 ")
	d.cmd("RCPT TO:<PostMaster@Mail.Example.com>", "250 ")
	d.cmd("DATA", "354 ")
	d.write(simpleMessage("to the postmaster") + ".\r\n")
	d.expect("250 2.0.0 ")
	if in, rcpt, pm := where("to the postmaster"); in != h.inbox.ID || rcpt != "postmaster@mail.example.com" || !pm {
		t.Fatalf("stored in %s for %s (postmaster label %v), want the domain's oldest inbox %s", in, rcpt, pm, h.inbox.ID)
	}

	// Another organization's domain: its own oldest inbox.
	d.cmd("MAIL FROM:<ada@example.org>", "250 ")
	d.cmd("RCPT TO:<postmaster@other.example.net>", "250 ")
	d.cmd("DATA", "354 ")
	d.write(simpleMessage("other postmaster") + ".\r\n")
	d.expect("250 2.0.0 ")
	if in, _, _ := where("other postmaster"); in != otherInbox.ID {
		t.Fatalf("stored in %s, want %s", in, otherInbox.ID)
	}

	// A domain with no inbox at all, a domain not hosted here, and the
	// bare form, which go-smtp's address parser refuses.
	d.cmd("MAIL FROM:<ada@example.org>", "250 ")
	d.cmd("RCPT TO:<postmaster@empty.example.com>", "550 5.1.1 ")
	d.cmd("RCPT TO:<postmaster@example.org>", "550 5.7.1 ")
	d.cmd("RCPT TO:<postmaster>", "501 5.5.2 ")
	d.cmd("RSET", "250 ")

	// An inbox named postmaster@ takes its own mail.
	pm := h.env.Inbox(h.org, "postmaster@mail.example.com")
	d.cmd("MAIL FROM:<ada@example.org>", "250 ")
	d.cmd("RCPT TO:<POSTMASTER@mail.example.com>", "250 ")
	d.cmd("DATA", "354 ")
	d.write(simpleMessage("own postmaster inbox") + ".\r\n")
	d.expect("250 2.0.0 ")
	if in, _, label := where("own postmaster inbox"); in != pm.ID || label {
		t.Fatalf("stored in %s (label %v), want the postmaster inbox %s unlabelled", in, label, pm.ID)
	}
	h.env.MustStatus(204, "DELETE", "/v1/inboxes/"+pm.ID, h.org.Owner, nil)

	// Caps apply: the target inbox is full.
	h.env.Store.DB.Exec(`UPDATE inboxes SET cap_mode = 'enforce', cap_limit_bytes = 0 WHERE id = ?`, h.inbox.ID)
	d.cmd("MAIL FROM:<ada@example.org>", "250 ")
	d.cmd("RCPT TO:<postmaster@mail.example.com>", "452 4.2.2 ")
	d.cmd("QUIT", "221 ")
}
