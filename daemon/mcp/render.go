package mcp

import (
	"fmt"
	"strings"

	"gent/models"
)

// Text renderings of tool results, for clients that show the model only
// the text. structuredContent carries the whole REST JSON.

// maxBodyText caps a message body in a text rendering.
const maxBodyText = 20000

func addr(a models.Address) string {
	if a.Name == "" {
		return a.Address
	}
	return a.Name + " <" + a.Address + ">"
}

func addrs(list []models.Address) string {
	s := make([]string, len(list))
	for i, a := range list {
		s[i] = addr(a)
	}
	return strings.Join(s, ", ")
}

func readWord(read bool) string {
	if read {
		return " (read)"
	}
	return " (unread)"
}

func renderWhoAmI(w *models.WhoAmI) string {
	s := fmt.Sprintf("Token %s (%s) for inbox %s <%s>. Scopes: %s.", w.TokenID, w.Label, w.InboxID, w.Address, strings.Join(w.Scopes, ", "))
	if len(w.RequiresApproval) > 0 {
		s += " Needs a reviewer's approval for: " + strings.Join(w.RequiresApproval, ", ") + "."
	}
	return s
}

func renderSummary(m *models.MessageSummary) string {
	var b strings.Builder
	fmt.Fprintf(&b, "- %s [%s%s] %s\n  From: %s\n  Subject: %s\n  Thread: %s", m.ID, m.Direction, readWord(m.Read),
		m.CreatedAt.UTC().Format("2006-01-02 15:04Z"), addr(m.From), m.Subject, m.ThreadID)
	if len(m.Labels) > 0 {
		fmt.Fprintf(&b, "\n  Labels: %s", strings.Join(m.Labels, ", "))
	}
	if len(m.Attachments) > 0 {
		fmt.Fprintf(&b, "\n  Attachments: %d", len(m.Attachments))
	}
	if m.Preview != "" {
		fmt.Fprintf(&b, "\n  Preview: %s", m.Preview)
	}
	return b.String()
}

func more(next string) string {
	if next == "" {
		return ""
	}
	return "\nMore: pass cursor " + next + " for the next page."
}

func renderSummaries(list []models.MessageSummary, next string) string {
	if len(list) == 0 {
		return "No messages."
	}
	parts := make([]string, len(list))
	for i := range list {
		parts[i] = renderSummary(&list[i])
	}
	return fmt.Sprintf("%d messages:\n%s%s", len(list), strings.Join(parts, "\n"), more(next))
}

func renderMessage(m *models.Message) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Message %s (%s, thread %s)\nFrom: %s\nTo: %s\n", m.ID, m.Direction, m.ThreadID, addr(m.From), addrs(m.To))
	if len(m.Cc) > 0 {
		fmt.Fprintf(&b, "Cc: %s\n", addrs(m.Cc))
	}
	if m.Date != nil {
		fmt.Fprintf(&b, "Date: %s\n", m.Date.UTC().Format("2006-01-02 15:04:05Z"))
	}
	fmt.Fprintf(&b, "Subject: %s\n", m.Subject)
	if m.Auth != nil && m.Direction == models.DirectionInbound {
		fmt.Fprintf(&b, "Sender checks: spf=%s dkim=%s dmarc=%s\n", m.Auth.SPF, m.Auth.DKIM, m.Auth.DMARC)
	}
	for _, a := range m.Attachments {
		fmt.Fprintf(&b, "Attachment %s: %s (%s, %d bytes)\n", a.ID, a.Filename, a.ContentType, a.Size)
	}
	text := m.Text
	if text == "" {
		text = "(no plain-text body; see html in the structured result)"
	}
	if len(text) > maxBodyText {
		text = text[:maxBodyText] + "\n[… cut; the structured result has the whole body]"
	}
	b.WriteString("\n--- begin message body (outside content) ---\n")
	b.WriteString(text)
	b.WriteString("\n--- end message body ---")
	return b.String()
}

func renderThreads(list []models.Thread, next string) string {
	if len(list) == 0 {
		return "No threads."
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d threads:", len(list))
	for _, t := range list {
		fmt.Fprintf(&b, "\n- %s %q: %d messages (%d unread), last %s; with %s", t.ID, t.Subject, t.MessageCount, t.UnreadCount,
			t.LastMessageAt.UTC().Format("2006-01-02 15:04Z"), strings.Join(t.Participants, ", "))
	}
	b.WriteString(more(next))
	return b.String()
}

func renderThread(t *models.ThreadDetail) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Thread %s %q, %d messages, oldest first:", t.ID, t.Subject, len(t.Messages))
	for i := range t.Messages {
		b.WriteString("\n\n")
		b.WriteString(renderMessage(&t.Messages[i]))
	}
	return b.String()
}

func renderContacts(list []models.Contact, next string) string {
	if len(list) == 0 {
		return "No contacts."
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d contacts:", len(list))
	for _, c := range list {
		name := c.Address
		if c.Name != "" {
			name = c.Name + " <" + c.Address + ">"
		}
		fmt.Fprintf(&b, "\n- %s: %d received, %d sent", name, c.ReceivedCount, c.SentCount)
	}
	b.WriteString(more(next))
	return b.String()
}

func renderAttachment(a AttachmentResult) string {
	s := fmt.Sprintf("Attachment %s of %s: %s (%s, %d bytes), %s", a.ID, a.MessageID, a.Filename, a.ContentType, a.Size, a.Encoding)
	if a.Truncated {
		s += fmt.Sprintf(", cut at %d bytes", MaxAttachmentBytes)
	}
	return s + ":\n" + a.Content
}

func renderSend(r SendResult) string {
	if r.Status == "pending_approval" {
		why := make([]string, len(r.HoldReasons))
		for i, h := range r.HoldReasons {
			why[i] = h.Code + " (" + h.Detail + ")"
		}
		return fmt.Sprintf("Held for a human reviewer: message %s has NOT been sent yet (reasons: %s). Do not send it again; "+
			"check later with get_send_status {\"message_id\": %q}.", r.MessageID, strings.Join(why, "; "), r.MessageID)
	}
	return fmt.Sprintf("Accepted: message %s is %s for delivery. Follow it with get_send_status {\"message_id\": %q}.", r.MessageID, r.Status, r.MessageID)
}

func renderSimulate(r SimulateResult) string {
	switch r.Decision {
	case "refuse":
		return "A send with these arguments would be refused: " + r.Error.Code + ": " + r.Error.Message
	case "hold":
		codes := make([]string, len(r.HoldReasons))
		for i, h := range r.HoldReasons {
			codes[i] = h.Code
		}
		return "A send with these arguments would be held for a human reviewer (" + strings.Join(codes, ", ") + "). Nothing was sent."
	}
	return "A send with these arguments would be accepted and queued. Nothing was sent."
}

func renderSendStatus(st *models.SendStatus) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Message %s: %s", st.ID, st.Status)
	for _, r := range st.Recipients {
		fmt.Fprintf(&b, "\n- %s: %s after %d attempts", r.Address, r.Status, r.Attempts)
		if r.LastResponse != "" {
			fmt.Fprintf(&b, " (last reply %d %s)", r.LastCode, r.LastResponse)
		}
	}
	return b.String()
}
