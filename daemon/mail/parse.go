package mail

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	netmail "net/mail"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/emersion/go-message"
	_ "github.com/emersion/go-message/charset" // every charset go-message knows, to UTF-8
	gomail "github.com/emersion/go-message/mail"
	"github.com/emersion/go-message/textproto"

	"gent/daemon/screening"
	"gent/models"
)

// Limits bound the work parsing a message may take. A message beyond them
// is refused (SMTP) rather than half-parsed.
type Limits struct {
	// MaxHeaderBytes bounds the top-level header section.
	MaxHeaderBytes int
	// MaxParts bounds the number of MIME entities (the message counts as one).
	MaxParts int
	// MaxDepth bounds multipart nesting (a single-part message has depth 0).
	MaxDepth int
}

// DefaultLimits are used when a caller passes the zero Limits.
var DefaultLimits = Limits{MaxHeaderBytes: 256 << 10, MaxParts: 500, MaxDepth: 20}

func (l Limits) withDefaults() Limits {
	if l.MaxHeaderBytes <= 0 {
		l.MaxHeaderBytes = DefaultLimits.MaxHeaderBytes
	}
	if l.MaxParts <= 0 {
		l.MaxParts = DefaultLimits.MaxParts
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = DefaultLimits.MaxDepth
	}
	return l
}

// LimitError reports a message beyond one of the Limits.
type LimitError struct {
	What  string // "header", "parts" or "depth"
	Limit int
}

func (e *LimitError) Error() string {
	switch e.What {
	case "header":
		return fmt.Sprintf("the header section exceeds %d bytes", e.Limit)
	case "parts":
		return fmt.Sprintf("the message has more than %d MIME parts", e.Limit)
	default:
		return fmt.Sprintf("MIME parts are nested deeper than %d levels", e.Limit)
	}
}

// Parsed is what Parse finds in a message. Everything is valid UTF-8
// without NUL bytes, ready for the database.
type Parsed struct {
	Headers       []models.HeaderField
	MessageID     string
	InReplyTo     string
	References    []string
	From          models.Address
	ReplyTo       []models.Address
	To            []models.Address
	Cc            []models.Address
	Bcc           []models.Address
	Subject       string
	Date          *time.Time
	Text          string
	HTML          string
	ExtractedText string
	// html is HTML parsed, when Parse rendered text from it; the store's
	// screening and reader's view use it rather than parse it again.
	html *screening.Document
	// pre is the inbound screening analysis, when Prescreen made it.
	pre         *prescreened
	Attachments []ParsedAttachment
	// Received is the number of Received header fields (the loop guard).
	Received int
	// HeaderBytes is the length of the top-level header section.
	HeaderBytes int
	// Problems lists what was malformed (the message is kept regardless).
	Problems []string
}

// ParsedAttachment is a non-body leaf part.
type ParsedAttachment struct {
	Path        string // MIME part path, e.g. "1.0"
	Filename    string
	ContentType string
	ContentID   string
	Size        int64
	Inline      bool
}

// field is one raw header field.
type field struct{ key, value string }

// splitHeader separates the header section from the body. The header
// ends at the first blank line, or, in a message without one, at the first
// line that is neither a field nor a continuation: that line starts the
// body (as RFC 5322 readers such as Python's email recover it), so a
// message whose body follows its fields directly keeps its body. A leading
// mbox "From " line is skipped.
func splitHeader(raw []byte) (header, body []byte) {
	start := 0
	if bytes.HasPrefix(raw, []byte("From ")) {
		if i := bytes.IndexByte(raw, '\n'); i >= 0 {
			start = i + 1
		}
	}
	pos := start
	for pos < len(raw) {
		next := len(raw)
		if i := bytes.IndexByte(raw[pos:], '\n'); i >= 0 {
			next = pos + i + 1
		}
		line := bytes.TrimRight(raw[pos:next], "\r\n")
		switch {
		case len(line) == 0:
			return raw[start:pos], raw[next:]
		case line[0] == ' ' || line[0] == '\t':
			if pos == start {
				return nil, raw[start:]
			}
		case !isField(line):
			return raw[start:pos], raw[pos:]
		}
		pos = next
	}
	return raw[start:], nil // no body
}

func isField(line []byte) bool {
	k, _, ok := bytes.Cut(line, []byte(":"))
	return ok && validKey(bytes.TrimRight(k, " \t"))
}

// normalize gives a message with only CR line ends (old Mac) CRLF ones.
func normalize(raw []byte) []byte {
	if bytes.IndexByte(raw, '\n') < 0 && bytes.IndexByte(raw, '\r') >= 0 {
		return bytes.ReplaceAll(raw, []byte("\r"), []byte("\r\n"))
	}
	return raw
}

// headerAndBody parses the header section.
func headerAndBody(hdr, body []byte) ([]field, []byte) {
	return parseFields(hdr), body
}

func validKey(k []byte) bool {
	if len(k) == 0 {
		return false
	}
	for _, c := range k {
		if c < '!' || c > '~' || c == ':' {
			return false
		}
	}
	return true
}

// parseFields reads header fields leniently: continuation lines are
// unfolded, lines that are not fields are skipped.
func parseFields(h []byte) []field {
	var out []field
	for _, line := range bytes.Split(h, []byte("\n")) {
		line = bytes.TrimSuffix(line, []byte("\r"))
		if len(line) == 0 {
			continue
		}
		if line[0] == ' ' || line[0] == '\t' {
			if len(out) > 0 {
				out[len(out)-1].value += " " + string(bytes.TrimSpace(line))
			}
			continue
		}
		k, v, ok := bytes.Cut(line, []byte(":"))
		k = bytes.TrimRight(k, " \t")
		if !ok || !validKey(k) {
			continue
		}
		out = append(out, field{key: string(k), value: string(bytes.TrimSpace(v))})
	}
	return out
}

func get(fs []field, key string) string {
	for _, f := range fs {
		if strings.EqualFold(f.key, key) {
			return f.value
		}
	}
	return ""
}

// clean makes s storable in a Postgres text or jsonb column: valid UTF-8,
// no NUL bytes.
func clean(s string) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	if strings.IndexByte(s, 0) >= 0 {
		s = strings.ReplaceAll(s, "\x00", "")
	}
	return s
}

var wordDecoder = &mime.WordDecoder{CharsetReader: func(charset string, input io.Reader) (io.Reader, error) {
	if message.CharsetReader == nil {
		return nil, fmt.Errorf("unhandled charset %q", charset)
	}
	return message.CharsetReader(strings.ToLower(charset), input)
}}

// decodeText decodes RFC 2047 encoded words; undecodable text is kept as it is.
func decodeText(s string) string {
	if d, err := wordDecoder.DecodeHeader(s); err == nil {
		s = d
	}
	return clean(s)
}

var angleRe = regexp.MustCompile(`<([^<>\s]+)>`)

// msgIDs returns the message identifiers of a Message-ID, In-Reply-To or
// References value, without angle brackets.
func msgIDs(v string) []string {
	if v == "" {
		return nil
	}
	var h gomail.Header
	h.Set("References", v)
	ids, err := h.MsgIDList("References")
	if err != nil || len(ids) == 0 {
		ids = nil
		for _, m := range angleRe.FindAllStringSubmatch(v, -1) {
			ids = append(ids, m[1])
		}
		if len(ids) == 0 && !strings.ContainsAny(strings.TrimSpace(v), " \t<>") {
			ids = []string{strings.TrimSpace(v)}
		}
	}
	out := ids[:0]
	for _, id := range ids {
		if id = clean(strings.TrimSpace(id)); id != "" && len(id) <= 998 {
			out = append(out, id)
		}
	}
	return out
}

var looseAddrRe = regexp.MustCompile(`[^\s<>"',;:()\[\]]+@[^\s<>"',;:()\[\]]+`)

// addresses parses an address list header leniently: RFC 5322 first, then
// anything that looks like local@domain.
func addresses(v string) []models.Address {
	v = strings.TrimSpace(v)
	if v == "" {
		return nil
	}
	var out []models.Address
	if list, err := gomail.ParseAddressList(v); err == nil {
		for _, a := range list {
			out = append(out, models.Address{Name: clean(a.Name), Address: clean(strings.ToLower(a.Address))})
		}
		return out
	}
	for _, a := range looseAddrRe.FindAllString(decodeText(v), 50) {
		out = append(out, models.Address{Address: clean(strings.ToLower(a))})
	}
	return out
}

// Parse reads a message. Malformed MIME never fails: what can be read is
// returned and the problems listed. Only the Limits produce an error (a
// *LimitError).
func Parse(raw []byte, lim Limits) (*Parsed, error) {
	lim = lim.withDefaults()
	hdr, body := splitHeader(normalize(raw))
	p := &Parsed{HeaderBytes: len(hdr)}
	if len(hdr) > lim.MaxHeaderBytes {
		return nil, &LimitError{What: "header", Limit: lim.MaxHeaderBytes}
	}
	fields, body := headerAndBody(hdr, body)
	_, ctParams := contentType(get(fields, "Content-Type"), "")
	for i, f := range fields {
		// 8-bit header text without RFC 2047 is read in the message's
		// charset, else as windows-1252 (what mail clients assume).
		fields[i].value = eightBit(f.value, ctParams["charset"])
	}
	for _, f := range fields {
		if strings.EqualFold(f.key, "Received") {
			p.Received++
		}
		p.Headers = append(p.Headers, models.HeaderField{Name: clean(f.key), Value: decodeText(f.value)})
	}
	p.Subject = decodeText(get(fields, "Subject"))
	if ids := msgIDs(get(fields, "Message-Id")); len(ids) > 0 {
		p.MessageID = ids[0]
	}
	if ids := msgIDs(get(fields, "In-Reply-To")); len(ids) > 0 {
		p.InReplyTo = ids[0]
	}
	p.References = msgIDs(get(fields, "References"))
	if len(p.References) > 100 {
		p.References = p.References[len(p.References)-100:]
	}
	if from := addresses(get(fields, "From")); len(from) > 0 {
		p.From = from[0]
	}
	p.ReplyTo = addresses(get(fields, "Reply-To"))
	p.To = addresses(get(fields, "To"))
	p.Cc = addresses(get(fields, "Cc"))
	p.Bcc = addresses(get(fields, "Bcc"))
	if d := get(fields, "Date"); d != "" {
		if t, err := netmail.ParseDate(d); err == nil {
			t = t.UTC()
			p.Date = &t
		} else {
			p.Problems = append(p.Problems, "unparsable Date")
		}
	}

	w := &walker{lim: lim, p: p}
	if err := w.walk(entityHeader(fields), bytes.NewReader(body), nil, 0, ""); err != nil {
		var le *LimitError
		if errors.As(err, &le) {
			return nil, err
		}
		p.Problems = append(p.Problems, err.Error())
	}
	p.Text = strings.Join(w.texts, "\n")
	p.HTML = strings.Join(w.htmls, "\n")
	if p.Text == "" && p.HTML == "" && len(p.Attachments) == 0 && len(body) > 0 {
		// Nothing readable came out of the MIME structure (a broken
		// boundary, an unknown encoding): show the body as it is.
		p.Text = strings.ReplaceAll(clean(string(body)), "\r\n", "\n")
		p.Problems = append(p.Problems, "no readable MIME part; the body is shown raw")
	}
	source := p.Text
	if source == "" && p.HTML != "" {
		p.html = screening.ParseDocument(p.HTML)
		source = documentText(p.html, true)
	}
	p.ExtractedText = ExtractReply(source)
	return p, nil
}

// walker walks the MIME tree, collecting bodies and attachments.
type walker struct {
	lim   Limits
	p     *Parsed
	parts int
	texts []string
	htmls []string
	// visit, when set, is called for every leaf instead of collecting
	// (used to find one attachment's bytes); returning true stops.
	visit func(path string, e *message.Entity) (bool, error)
	done  bool
}

func pathString(path []int) string {
	if len(path) == 0 {
		return ""
	}
	s := make([]string, len(path))
	for i, n := range path {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ".")
}

func (w *walker) walk(h message.Header, body io.Reader, path []int, depth int, parentType string) error {
	if depth > w.lim.MaxDepth {
		return &LimitError{What: "depth", Limit: w.lim.MaxDepth}
	}
	w.parts++
	if w.parts > w.lim.MaxParts {
		return &LimitError{What: "parts", Limit: w.lim.MaxParts}
	}
	def := "text/plain"
	if parentType == "multipart/digest" {
		def = "message/rfc822"
	}
	mt, params := contentType(h.Get("Content-Type"), def)
	if strings.HasPrefix(mt, "multipart/") && params["boundary"] != "" {
		mr := textproto.NewMultipartReader(body, params["boundary"])
		for i := 0; !w.done; i++ {
			part, err := mr.NextPart()
			if err == io.EOF {
				break
			}
			if err != nil {
				if w.p != nil {
					w.p.Problems = append(w.p.Problems, "multipart: "+err.Error())
				}
				break
			}
			if err := w.walk(message.Header{Header: part.Header}, part, append(append([]int(nil), path...), i), depth+1, mt); err != nil {
				return err
			}
		}
		return nil
	}
	if strings.HasPrefix(mt, "multipart/") {
		// RFC 2046 requires a boundary; without one the body is text.
		mt, params = "text/plain", nil
	}
	// go-message decodes the transfer encoding and the charset, from the
	// content type as read here.
	h = h.Copy()
	h.Set("Content-Type", mime.FormatMediaType(mt, map[string]string{"charset": params["charset"]}))
	if params["charset"] == "" {
		h.Set("Content-Type", mt)
	}
	if strings.EqualFold(strings.TrimSpace(h.Get("Content-Transfer-Encoding")), "base64") {
		body = &base64Filter{r: body}
	}
	e, err := message.New(h, body)
	if e == nil {
		return err
	}
	ps := pathString(path)
	if w.visit != nil {
		stop, err := w.visit(ps, e)
		w.done = stop
		return err
	}
	return w.leaf(ps, mt, params, e, err)
}

func (w *walker) leaf(path, mt string, cparams map[string]string, e *message.Entity, encErr error) error {
	p := w.p
	disp, dparams := disposition(e.Header.Get("Content-Disposition"))
	filename := dparams["filename"]
	if filename == "" {
		filename = cparams["name"]
	}
	filename = sanitizeFilename(decodeText(filename))
	cid := strings.Trim(strings.TrimSpace(e.Header.Get("Content-Id")), "<>")
	// RFC 2183: a text part not marked "attachment" is shown in place;
	// when it also has a file name it is listed as an attachment too.
	isBody := (mt == "text/plain" || mt == "text/html") && disp != "attachment"
	if isBody {
		b, err := io.ReadAll(io.LimitReader(e.Body, 64<<20))
		if err != nil {
			p.Problems = append(p.Problems, fmt.Sprintf("part %s: %v", path, err))
		}
		size := int64(len(b)) // what AttachmentPart returns
		if !utf8.Valid(b) && (encErr != nil || !strings.EqualFold(cparams["charset"], "utf-8")) {
			// No charset, an unknown one or us-ascii with 8-bit bytes:
			// windows-1252, as mail clients read it.
			b = []byte(eightBit(string(b), "windows-1252"))
		}
		s := strings.ReplaceAll(clean(string(b)), "\r\n", "\n")
		if mt == "text/html" {
			w.htmls = append(w.htmls, s)
		} else {
			w.texts = append(w.texts, s)
		}
		if filename == "" {
			return nil
		}
		p.Attachments = append(p.Attachments, ParsedAttachment{Path: path, Filename: filename, ContentType: mt,
			ContentID: clean(cid), Size: size, Inline: true})
		return nil
	}
	n, err := io.Copy(io.Discard, e.Body)
	if err != nil {
		p.Problems = append(p.Problems, fmt.Sprintf("part %s: %v", path, err))
	}
	switch {
	case filename != "":
	case mt == "message/rfc822":
		filename = "message.eml"
	case mt == "text/calendar":
		filename = "invite.ics" // as mail clients name an invitation
	}
	p.Attachments = append(p.Attachments, ParsedAttachment{
		Path: path, Filename: filename, ContentType: clean(mt), ContentID: clean(cid), Size: n,
		Inline: disp == "inline" || (disp == "" && cid != ""),
	})
	return nil
}

// sanitizeFilename keeps the last path element and drops control
// characters, so a name is safe in Content-Disposition and on disk.
func sanitizeFilename(s string) string {
	if i := strings.LastIndexAny(s, `/\`); i >= 0 {
		s = s[i+1:]
	}
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == '"' {
			return -1
		}
		return r
	}, s)
	s = strings.TrimSpace(s)
	if s == "." || s == ".." {
		return ""
	}
	if len(s) > 255 {
		s = s[:255]
		for !utf8.ValidString(s) {
			s = s[:len(s)-1]
		}
	}
	return s
}

// AttachmentPart returns the content type header and the decoded bytes of
// the leaf at path in raw.
func AttachmentPart(raw []byte, path string, lim Limits) ([]byte, error) {
	lim = lim.withDefaults()
	fields, body := headerAndBody(splitHeader(normalize(raw)))
	var out []byte
	found := false
	w := &walker{lim: lim, p: &Parsed{}, visit: func(p string, e *message.Entity) (bool, error) {
		if p != path {
			return false, nil
		}
		found = true
		b, _ := io.ReadAll(e.Body) // what decodes; a broken encoding gives what it can
		out = b
		return true, nil
	}}
	if err := w.walk(entityHeader(fields), bytes.NewReader(body), nil, 0, ""); err != nil {
		return nil, err
	}
	if !found {
		return nil, errors.New("attachment part not found")
	}
	return out, nil
}
