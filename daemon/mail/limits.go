package mail

import (
	"errors"
	"fmt"

	"gent/models"
)

// Limits of one send (docs/outbound.md, Limits). They keep every message
// Gent builds within the limits its own parser applies to stored mail
// (smtp.max_header_bytes, smtp.max_mime_parts, smtp.max_mime_depth), so a
// request beyond them is a 422 naming the field, never a failure after
// the message is built.
const (
	// MaxAttachments per message (fewer when smtp.max_mime_parts leaves
	// less room: see maxAttachments).
	MaxAttachments = 100
	// MaxCustomHeaders is how many fields "headers" may set.
	MaxCustomHeaders = 100
	// MaxHeaderNameOctets bounds a custom header field name.
	MaxHeaderNameOctets = 76
	// MaxHeaderValueOctets bounds a custom header value before encoding
	// (RFC 5322 section 2.1.1's line limit).
	MaxHeaderValueOctets = 998
	// bodyParts is how many MIME entities a message has besides its
	// attachments at most: multipart/mixed, multipart/alternative, text
	// and HTML.
	bodyParts = 4
)

// maxAttachments is the number of attachments a message may carry under
// the parsing limits lim.
func maxAttachments(lim Limits) int {
	return max(0, min(MaxAttachments, lim.withDefaults().MaxParts-bodyParts))
}

// checkDraftLimits checks the counts and sizes of a send before anything
// is built.
func checkDraftLimits(d Draft) error {
	if n, most := len(d.Attachments), maxAttachments(d.Limits); n > most {
		return models.Invalid("attachments", "at most %d attachments per message; got %d", most, n)
	}
	if n := len(d.Headers); n > MaxCustomHeaders {
		return models.Invalid("headers", "at most %d custom headers per message; got %d", MaxCustomHeaders, n)
	}
	for name, v := range d.Headers {
		if len(name) > MaxHeaderNameOctets {
			return models.Invalid("headers", "header field names are at most %d octets; %.40q… is %d", MaxHeaderNameOctets, name, len(name))
		}
		if len(v) > MaxHeaderValueOctets {
			return models.Invalid("headers."+name, "header values are at most %d octets; got %d", MaxHeaderValueOctets, len(v))
		}
	}
	return nil
}

// checkHeaderSection checks the header section of a built message against
// smtp.max_header_bytes, exactly as Parse measures it.
func checkHeaderSection(raw []byte, lim Limits) error {
	lim = lim.withDefaults()
	if hdr, _ := splitHeader(raw); len(hdr) > lim.MaxHeaderBytes {
		return models.Invalid("headers", "the message's header section would be %d bytes; the limit (smtp.max_header_bytes) is %d: send fewer or shorter headers",
			len(hdr), lim.MaxHeaderBytes)
	}
	return nil
}

// ParseComposed parses a message Compose built, for storing. A message
// beyond the parsing limits (an attachment that is itself a deep or large
// multipart, say) is a 422 naming the field, not an internal error.
func ParseComposed(raw []byte, lim Limits) (*Parsed, error) {
	p, err := Parse(raw, lim)
	var le *LimitError
	if errors.As(err, &le) {
		field := "attachments"
		if le.What == "header" {
			field = "headers"
		}
		return nil, models.Invalid(field, "the message would be beyond what stored mail may be: %v", le)
	}
	if err != nil {
		return nil, fmt.Errorf("parse composed message: %w", err)
	}
	return p, nil
}
