package mail

import (
	"bytes"
	"cmp"
	"errors"
	"io"
	"mime"
	"net/textproto"
	"slices"
	"strconv"
	"strings"

	"github.com/emersion/go-message"
	gomail "github.com/emersion/go-message/mail"
)

// The structure of a composed message (DESIGN.md section 13):
//
//	text only              text/plain
//	HTML only              text/html
//	text + HTML            multipart/alternative { text/plain, text/html }
//	HTML + inline parts    multipart/related { text/html, inline… }, inside
//	                       the alternative when there is text too
//	with attachments       multipart/mixed { the above, attachment… }
//
// Text parts are UTF-8 quoted-printable; attachments and inline parts are
// base64, except message/rfc822, which RFC 2046 section 5.2.1 allows only as
// 7bit, 8bit or binary. go-message writes every entity; the tree and the
// header values are formatted here.

// entity is one node of a message being built: a leaf with a body or a
// multipart with parts.
type entity struct {
	h     message.Header
	body  []byte
	parts []*entity
}

func textEntity(mt, s string) *entity {
	e := &entity{body: []byte(s)}
	e.h.Set("Content-Type", mime.FormatMediaType(mt, map[string]string{"charset": "utf-8"}))
	e.h.Set("Content-Transfer-Encoding", "quoted-printable")
	return e
}

func multipartEntity(subtype string, params map[string]string, parts ...*entity) *entity {
	e := &entity{parts: parts}
	e.h.Set("Content-Type", mime.FormatMediaType("multipart/"+subtype, params))
	return e
}

// errBadType reports a content type mime.FormatMediaType refuses.
var errBadType = errors.New("not a MIME type")

// attachmentEntity is an attachment, or an inline part when it has a
// Content-ID: Content-Disposition names the file either way.
func attachmentEntity(mt string, params map[string]string, filename, contentID string, data []byte) (*entity, error) {
	e := &entity{body: data}
	ct := mime.FormatMediaType(mt, params)
	if ct == "" {
		return nil, errBadType
	}
	e.h.Set("Content-Type", ct)
	disp := "attachment"
	if contentID != "" {
		disp = "inline"
		e.h.Set("Content-ID", "<"+strings.Trim(contentID, "<>")+">")
	}
	e.h.Set("Content-Disposition", withFilename(disp, filename))
	if strings.EqualFold(mt, "message/rfc822") {
		// Never base64 (RFC 2046 section 5.2.1): the message as it is,
		// with CRLF line ends.
		e.body = crlf(data)
		enc := "7bit"
		if bytes.IndexFunc(e.body, func(r rune) bool { return r >= 0x80 || r == 0 }) >= 0 {
			enc = "8bit"
		}
		e.h.Set("Content-Transfer-Encoding", enc)
	} else {
		e.h.Set("Content-Transfer-Encoding", "base64")
	}
	return e, nil
}

// crlf turns bare LF line ends into CRLF.
func crlf(b []byte) []byte {
	if bytes.Count(b, []byte("\n")) == bytes.Count(b, []byte("\r\n")) {
		return b
	}
	out := make([]byte, 0, len(b)+len(b)/32)
	for i, c := range b {
		if c == '\n' && (i == 0 || b[i-1] != '\r') {
			out = append(out, '\r')
		}
		out = append(out, c)
	}
	return out
}

// bodyTree arranges the bodies, inline parts and attachments (see the
// table at the top of this file).
func bodyTree(text, html string, inlines, atts []*entity) *entity {
	var body, htmlPart *entity
	if html != "" {
		htmlPart = textEntity("text/html", html)
		if len(inlines) > 0 {
			htmlPart = multipartEntity("related", map[string]string{"type": "text/html"}, append([]*entity{htmlPart}, inlines...)...)
		}
	}
	switch {
	case text != "" && htmlPart != nil:
		body = multipartEntity("alternative", nil, textEntity("text/plain", text), htmlPart)
	case htmlPart != nil:
		body = htmlPart
	default:
		body = textEntity("text/plain", text)
	}
	if len(atts) > 0 {
		body = multipartEntity("mixed", nil, append([]*entity{body}, atts...)...)
	}
	return body
}

// write writes the message: top holds the message's own fields, to which
// the root entity's content fields are added.
func (e *entity) write(w io.Writer, top message.Header) error {
	h := top.Copy()
	for f := e.h.Fields(); f.Next(); {
		h.Set(f.Key(), f.Value())
	}
	mw, err := message.CreateWriter(w, h)
	if err != nil {
		return err
	}
	return e.writeBody(mw)
}

func (e *entity) writeBody(mw *message.Writer) error {
	if e.parts == nil {
		if _, err := mw.Write(e.body); err != nil {
			return err
		}
		return mw.Close()
	}
	for _, p := range e.parts {
		pw, err := mw.CreatePart(p.h)
		if err != nil {
			return err
		}
		if err := p.writeBody(pw); err != nil {
			return err
		}
	}
	return mw.Close()
}

// maxParamChunk bounds one section of a parameter value, so that every
// "; name*N*=value" fits on a folded header line.
const maxParamChunk = 50

// withFilename formats a Content-Disposition with its filename parameter.
// mime.FormatMediaType writes a non-ASCII name as RFC 2231 (filename*= with
// the charset and percent-encoded bytes); a plain ASCII filename= fallback goes with it when it is
// short. A value too long for one line is split into RFC 2231 sections
// (filename*0*=, filename*1*=…), never inside a UTF-8 sequence.
// (go-message's SetFilename writes an RFC 2047 word inside quotes, which
// RFC 2231 readers take literally.)
func withFilename(disp, filename string) string {
	return withParam(disp, nil, "filename", filename)
}

func withParam(base string, params map[string]string, key, value string) string {
	p := make(map[string]string, len(params)+4)
	for k, v := range params {
		p[k] = v
	}
	one := mime.FormatMediaType("x", map[string]string{key: value})
	extended := strings.HasPrefix(one, "x; "+key+"*=")
	if len(one) <= maxParamChunk+len("x; ")+len(key)+len("*=") {
		p[key] = value
		if extended {
			if fb := asciiFallback(value); fb != "" && len(fb) <= maxParamChunk {
				p[key] = fb
				p[key+"*"] = one[len("x; "+key+"*="):]
				return formatRaw(base, p)
			}
		}
		return mime.FormatMediaType(base, p)
	}
	if extended {
		enc := one[len("x; "+key+"*="):] // utf-8''%C3%BC…
		n, start := 0, 0
		for i := 0; i < len(enc); {
			unit := 1
			if enc[i] == '%' {
				unit = 3
			}
			// A section may end here if it is long enough and the next
			// byte does not continue a UTF-8 sequence.
			if i-start+unit > maxParamChunk && !continuation(enc[i:]) {
				p[key+"*"+strconv.Itoa(n)+"*"] = enc[start:i]
				n, start = n+1, i
			}
			i += unit
		}
		p[key+"*"+strconv.Itoa(n)+"*"] = enc[start:]
		if fb := asciiFallback(value); fb != "" && len(fb) <= maxParamChunk {
			p[key] = fb
		}
		return formatRaw(base, p)
	}
	for n := 0; len(value) > 0; n++ {
		// A quoted section: '"' and '\\' take two characters.
		cut, width := 0, 0
		for cut < len(value) && width < maxParamChunk {
			if value[cut] == '"' || value[cut] == '\\' {
				width++
			}
			cut, width = cut+1, width+1
		}
		p[key+"*"+strconv.Itoa(n)] = value[:cut]
		value = value[cut:]
	}
	return mime.FormatMediaType(base, p)
}

// continuation reports whether s starts with a percent-encoded UTF-8
// continuation byte (10xxxxxx).
func continuation(s string) bool {
	if len(s) < 3 || s[0] != '%' {
		return false
	}
	b, err := strconv.ParseUint(s[1:3], 16, 8)
	return err == nil && b&0xC0 == 0x80
}

// formatRaw formats base and params like mime.FormatMediaType, except that
// the values of keys ending in "*" are already RFC 2231 encoded (a token:
// FormatMediaType would encode them again).
func formatRaw(base string, params map[string]string) string {
	plain := map[string]string{}
	var enc []string
	for k, v := range params {
		if strings.HasSuffix(k, "*") {
			enc = append(enc, k)
		} else {
			plain[k] = v
		}
	}
	s := mime.FormatMediaType(base, plain)
	if s == "" {
		return ""
	}
	slices.SortFunc(enc, func(a, b string) int { // name*2* before name*10*
		return cmp.Or(cmp.Compare(len(a), len(b)), strings.Compare(a, b))
	})
	for _, k := range enc {
		s += "; " + k + "=" + params[k]
	}
	return s
}

// asciiFallback is a non-ASCII filename for readers without RFC 2231:
// other characters become "_".
func asciiFallback(s string) string {
	fb := strings.Map(func(r rune) rune {
		if r < ' ' || r > '~' || r == '"' || r == '\\' {
			return '_'
		}
		return r
	}, s)
	if strings.Trim(fb, "_. ") == "" {
		return ""
	}
	return fb
}

// maxLine is the length of a folded header line (RFC 2047 section 2: a
// line with encoded words is at most 76 characters).
const maxLine = 76

// setFolded sets an address list, formatted by go-message (RFC 2047 names),
// folded.
func setFolded(h *gomail.Header, key string, addrs []*gomail.Address) {
	if len(addrs) == 0 {
		return
	}
	h.SetAddressList(key, addrs)
	fold(h, key)
}

// setFoldedText sets an unstructured field, RFC 2047 encoded by go-message
// (mime.QEncoding: encoded words of at most 75 characters), folded.
func setFoldedText(h *gomail.Header, key, v string) {
	h.SetText(key, v)
	fold(h, key)
}

// fold rewrites a field folded at the spaces of its value so that lines
// stay within maxLine. go-message folds only where a line's first word
// fits, so a 75-character encoded word after "Subject: " left the whole
// field on one line. Folding at a space is always allowed in the fields
// folded here (between words, encoded words, inside quoted strings, before
// "<" and after ","); unfolding restores the value exactly. Only a single
// word longer than a line (a long address) stays longer.
func fold(h *gomail.Header, key string) {
	key = textproto.CanonicalMIMEHeaderKey(key)
	v := h.Get(key)
	h.Del(key)
	var b strings.Builder
	line := key + ":"
	for _, w := range strings.Split(v, " ") {
		if w != "" && len(line)+1+len(w) > maxLine && strings.TrimSpace(line) != "" {
			b.WriteString(line + "\r\n")
			line = ""
		}
		line += " " + w
	}
	b.WriteString(line + "\r\n")
	h.AddRaw([]byte(b.String()))
}
