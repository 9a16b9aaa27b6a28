package mail

import (
	"bufio"
	"bytes"
	"net/textproto"
	"strings"
)

// LoopSignal names what marks a message as automatic mail (RFC 3834
// Auto-Submitted, Precedence bulk/list/junk, mailing-list headers, a null
// return path, a delivery status notification), or "".
func LoopSignal(raw []byte) string {
	h, err := textproto.NewReader(bufio.NewReader(bytes.NewReader(raw))).ReadMIMEHeader()
	if err != nil && len(h) == 0 {
		return ""
	}
	if v := strings.ToLower(strings.TrimSpace(h.Get("Auto-Submitted"))); v != "" && v != "no" {
		return "Auto-Submitted: " + v
	}
	switch v := strings.ToLower(strings.TrimSpace(h.Get("Precedence"))); v {
	case "bulk", "list", "junk":
		return "Precedence: " + v
	}
	if h.Get("List-Id") != "" {
		return "List-Id"
	}
	if h.Get("List-Unsubscribe") != "" {
		return "List-Unsubscribe"
	}
	if rp, ok := h["Return-Path"]; ok && len(rp) > 0 && strings.TrimSpace(rp[0]) == "<>" {
		return "null return path"
	}
	ct := strings.ToLower(h.Get("Content-Type"))
	if strings.Contains(ct, "multipart/report") && strings.Contains(ct, "delivery-status") {
		return "delivery status notification"
	}
	return ""
}
