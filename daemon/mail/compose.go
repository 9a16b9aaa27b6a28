package mail

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"mime"
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

// Compose validates a draft and builds the MIME message: multipart/
// alternative text and HTML, attachments, RFC 2047 headers, a Message-ID on
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
	h.SetAddressList("From", []*gomail.Address{{Name: d.FromName, Address: d.FromAddress}})
	if len(to) > 0 {
		h.SetAddressList("To", to)
	}
	if len(cc) > 0 {
		h.SetAddressList("Cc", cc)
	}
	if len(replyTo) > 0 {
		h.SetAddressList("Reply-To", replyTo)
	}
	h.SetSubject(d.Subject)
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
		h.Set(name, mime.QEncoding.Encode("utf-8", v))
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
	type att struct {
		h    gomail.AttachmentHeader
		data []byte
	}
	var atts []att
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
			ct = mime.TypeByExtension(a.Filename[strings.LastIndexByte(a.Filename, '.')+1:])
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
		var ah gomail.AttachmentHeader
		ah.SetContentType(mt, params)
		ah.SetFilename(a.Filename)
		if a.ContentID != "" {
			if err := noBreaks(field+".content_id", a.ContentID); err != nil {
				return err
			}
			ah.Set("Content-ID", "<"+strings.Trim(a.ContentID, "<>")+">")
			ah.SetContentType(mt, params)
			ah.Set("Content-Disposition", mime.FormatMediaType("inline", map[string]string{"filename": a.Filename}))
		}
		atts = append(atts, att{h: ah, data: data})
	}
	inline := func(write func(ct string, body string) error) error {
		if d.Text != "" {
			if err := write("text/plain", d.Text); err != nil {
				return err
			}
		}
		if d.HTML != "" {
			return write("text/html", d.HTML)
		}
		return nil
	}
	if len(atts) == 0 && (d.Text == "" || d.HTML == "") {
		ct, body := "text/plain", d.Text
		if d.HTML != "" {
			ct, body = "text/html", d.HTML
		}
		h.SetContentType(ct, map[string]string{"charset": "utf-8"})
		h.Set("Content-Transfer-Encoding", "quoted-printable")
		w, err := gomail.CreateSingleInlineWriter(buf, h)
		if err != nil {
			return fmt.Errorf("build message: %w", err)
		}
		if _, err := w.Write([]byte(body)); err != nil {
			return err
		}
		return w.Close()
	}
	w, err := gomail.CreateWriter(buf, h)
	if err != nil {
		return fmt.Errorf("build message: %w", err)
	}
	iw, err := w.CreateInline()
	if err != nil {
		return fmt.Errorf("build message: %w", err)
	}
	err = inline(func(ct, body string) error {
		var ih gomail.InlineHeader
		ih.SetContentType(ct, map[string]string{"charset": "utf-8"})
		pw, err := iw.CreatePart(ih)
		if err != nil {
			return err
		}
		if _, err := pw.Write([]byte(body)); err != nil {
			return err
		}
		return pw.Close()
	})
	if err != nil {
		return fmt.Errorf("build message: %w", err)
	}
	if err := iw.Close(); err != nil {
		return fmt.Errorf("build message: %w", err)
	}
	for _, a := range atts {
		aw, err := w.CreateAttachment(a.h)
		if err != nil {
			return fmt.Errorf("build message: %w", err)
		}
		if _, err := aw.Write(a.data); err != nil {
			return err
		}
		if err := aw.Close(); err != nil {
			return err
		}
	}
	return w.Close()
}
