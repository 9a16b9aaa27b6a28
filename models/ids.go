package models

import (
	"github.com/oklog/ulid/v2"
	"strings"
)

// ID prefixes. IDs are a prefix and a ULID, so they sort by creation time.
const (
	PrefixOrg           = "org_"
	PrefixUser          = "usr_"
	PrefixSession       = "ses_"
	PrefixDomain        = "dom_"
	PrefixInbox         = "inb_"
	PrefixToken         = "tok_"
	PrefixMessage       = "msg_"
	PrefixThread        = "thr_"
	PrefixAttach        = "att_"
	PrefixApproval      = "apr_"
	PrefixWebhook       = "whk_"
	PrefixEvent         = "evt_"
	PrefixAudit         = "aud_"
	PrefixContact       = "con_"
	PrefixSender        = "snd_"
	PrefixCaptured      = "cap_"
	PrefixPasswordReset = "pwr_"
)

// NewID returns a new sortable ID with the given prefix.
func NewID(prefix string) string {
	return prefix + strings.ToLower(ulid.Make().String())
}

// HasPrefix reports whether id looks like an ID of the given kind.
func HasPrefix(id, prefix string) bool {
	return strings.HasPrefix(id, prefix) && len(id) == len(prefix)+26
}
