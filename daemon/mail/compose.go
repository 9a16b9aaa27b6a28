package mail

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"mime"
	"path/filepath"
	"strings"
	"time"

	gomail "github.com/emersion/go-message/mail"

	"gent/models"
)

// Composed is a message built for sending.
type Composed struct {
	Raw        []byte
	MessageID  string // with angle brackets
	Recipients []Envelope
}

// Envelope is one recipient of a composed message.
type Envelope struct {
	Address string
	Kind    string // to, cc, bcc
}

// Draft is what a send asks for, after the API shapes are resolved.
type Draft struct {
	FromName    string
	FromAddress string
	To, Cc, Bcc []string
	ReplyTo     []string
	Subject     string
	Text, HTML  string
	Attachments []models.SendAttachment
	Headers     map[string]string
	InReplyTo   string   // Message-ID being answered, with brackets
	References  []string // with brackets
	Date        time.Time
	MaxRcpts    int
	MaxBytes    int64
	// Limits are the parsing limits the built message must stay within
	// (the zero value: DefaultLimits); set from the configuration.
	Limits Limits `json:"-"`
	// Incomplete allows what a draft may lack: recipients and a body.
	Incomplete bool `json:"-"`
}

// Header fields a send may not set through "headers": each has its own
// field or is set by the server.
var reservedHeaders = map[string]bool{
	"from": true, "to": true, "cc": true, "bcc": true, "reply-to": true, "subject": true, "date": true,
	"message-id": true, "in-reply-to": true, "references": true, "mime-version": true, "content-type": true,
	"content-transfer-encoding": true, "content-disposition": true, "dkim-signature": true, "received": true,
	"return-path": true, "sender": true, "resent-from": true, "resent-to": true, "authentication-results": true,
	"arc-seal": true, "arc-message-signature": true, "arc-authentication-results": true, "delivered-to": true,
}

func parseList(field string, list []string) ([]*gomail.Address, error) {
	out := make([]*gomail.Address, 0, len(list))
	for i, raw := range list {
		a, err := ParseMailbox(fmt.Sprintf("%s[%d]", field, i), raw)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

func noBreaks(field, v string) error {
	if strings.ContainsAny(v, "\r\n\x00") {
		return models.Invalid(field, "line breaks are not allowed in %s", field)
	}
	return nil
}

// Compose validates a draft and builds the MIME message (the structure is
// in build.go), with RFC 2047 headers folded at 76 columns, a Message-ID on
// the sending domain and a Date.
func Compose(d Draft) (*Composed, error) {
	if err := checkDraftLimits(d); err != nil {
		return nil, err
	}
	to, err := parseList("to", d.To)
	if err != nil {
		return nil, err
	}
	cc, err := parseList("cc", d.Cc)
	if err != nil {
		return nil, err
	}
	bcc, err := parseList("bcc", d.Bcc)
	if err != nil {
		return nil, err
	}
	replyTo, err := parseList("reply_to", d.ReplyTo)
	if err != nil {
		return nil, err
	}
	var env []Envelope
	seen := map[string]bool{}
	for _, l := range []struct {
		kind  string
		addrs []*gomail.Address
	}{{"to", to}, {"cc", cc}, {"bcc", bcc}} {
		for _, a := range l.addrs {
			if !seen[a.Address] {
				seen[a.Address] = true
				env = append(env, Envelope{Address: a.Address, Kind: l.kind})
			}
		}
	}
	if len(env) == 0 && !d.Incomplete {
		return nil, models.Invalid("to", "at least one recipient is required in to, cc or bcc")
	}
	if d.MaxRcpts > 0 && len(env) > d.MaxRcpts {
		return nil, models.Invalid("to", "at most %d recipients per message (to, cc and bcc together); got %d", d.MaxRcpts, len(env))
	}
	if err := noBreaks("subject", d.Subject); err != nil {
		return nil, err
	}
	if len(d.Subject) > 998 {
		return nil, models.Invalid("subject", "subject must be at most 998 characters")
	}
	if d.Text == "" && d.HTML == "" {
		if !d.Incomplete {
			return nil, models.Invalid("text", "a text or html body is required")
		}
		d.Text = " "
	}
	var h gomail.Header
	setFolded(&h, "From", []*gomail.Address{{Name: d.FromName, Address: d.FromAddress}})
	setFolded(&h, "To", to)
	setFolded(&h, "Cc", cc)
	setFolded(&h, "Reply-To", replyTo)
	setFoldedText(&h, "Subject", d.Subject)
	if d.Date.IsZero() {
		d.Date = time.Now()
	}
	h.SetDate(d.Date)
	domain := d.FromAddress[strings.LastIndexByte(d.FromAddress, '@')+1:]
	msgID := strings.ToLower(models.NewID("")) + "@" + domain
	h.SetMessageID(msgID)
	if d.InReplyTo != "" {
		h.SetMsgIDList("In-Reply-To", []string{strings.Trim(d.InReplyTo, "<>")})
	}
	if len(d.References) > 0 {
		refs := make([]string, 0, len(d.References))
		for _, r := range d.References {
			refs = append(refs, strings.Trim(r, "<>"))
		}
		h.SetMsgIDList("References", refs)
	}
	for name, v := range d.Headers {
		field := "headers." + name
		if name == "" || strings.IndexFunc(name, func(r rune) bool { return r <= ' ' || r > '~' || r == ':' }) >= 0 {
			return nil, models.Invalid(field, "not a valid header field name: %q", name)
		}
		if reservedHeaders[strings.ToLower(name)] {
			return nil, models.Invalid(field, "%s cannot be set through headers", name)
		}
		if err := noBreaks(field, v); err != nil {
			return nil, err
		}
		setFoldedText(&h, name, v)
	}
	h.Set("MIME-Version", "1.0")

	var buf bytes.Buffer
	if err := writeBody(&buf, h, d); err != nil {
		return nil, err
	}
	if err := checkHeaderSection(buf.Bytes(), d.Limits); err != nil {
		return nil, err
	}
	if d.MaxBytes > 0 && int64(buf.Len()) > d.MaxBytes {
		return nil, &models.Error{Code: models.CodeTooLarge, Message: fmt.Sprintf("the message would be %d bytes; the limit is %d", buf.Len(), d.MaxBytes)}
	}
	return &Composed{Raw: buf.Bytes(), MessageID: "<" + msgID + ">", Recipients: env}, nil
}

func writeBody(buf *bytes.Buffer, h gomail.Header, d Draft) error {
	var atts, inlines []*entity
	for i, a := range d.Attachments {
		field := fmt.Sprintf("attachments[%d]", i)
		if a.Filename == "" {
			return models.Invalid(field+".filename", "filename is required")
		}
		if err := noBreaks(field+".filename", a.Filename); err != nil {
			return err
		}
		ct := a.ContentType
		if ct == "" {
			ct = mime.TypeByExtension(filepath.Ext(a.Filename))
			if ct == "" {
				ct = "application/octet-stream"
			}
		}
		mt, params, err := mime.ParseMediaType(ct)
		if err != nil || strings.ContainsAny(ct, "\r\n") {
			return models.Invalid(field+".content_type", "not a MIME type: %q", a.ContentType)
		}
		data, err := base64.StdEncoding.DecodeString(a.ContentBase64)
		if err != nil {
			return models.Invalid(field+".content_base64", "not valid base64")
		}
		if a.ContentID != "" {
			if err := noBreaks(field+".content_id", a.ContentID); err != nil {
				return err
			}
		}
		e, err := attachmentEntity(mt, params, a.Filename, a.ContentID, data)
		if err != nil {
			return models.Invalid(field+".content_type", "not a MIME type: %q", a.ContentType)
		}
		if a.ContentID != "" && d.HTML != "" {
			inlines = append(inlines, e)
		} else {
			atts = append(atts, e)
		}
	}
	if err := bodyTree(d.Text, d.HTML, inlines, atts).write(buf, h.Header); err != nil {
		return fmt.Errorf("build message: %w", err)
	}
	return nil
}
