package mail

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"gorm.io/gorm"

	"gent/models"
)

// searchTextLimit bounds how much body text goes into the search vector.
const searchTextLimit = 200 << 10

// StoreInput is one message to store in one inbox.
type StoreInput struct {
	OrgID     string
	InboxID   string
	Direction string // models.DirectionInbound or models.DirectionOutbound
	Status    string // "received" for inbound mail
	// Raw is the message exactly as it is kept (RFC 5322, CRLF lines).
	Raw []byte
	// Parsed is Raw parsed (Parse); nil: Store parses it. A caller may
	// adjust it before storing, e.g. set Bcc for a sent copy whose raw
	// message (rightly) carries no Bcc header.
	Parsed *Parsed
	// Auth are the SPF/DKIM/DMARC results of inbound mail.
	Auth *models.AuthResults
	// MailFrom and RcptTo are the SMTP envelope of inbound mail.
	MailFrom string
	RcptTo   string
	Labels   []string
	Read     bool
	// ID and ThreadID, when set, keep a replaced message's identity
	// (ReplaceMessage); otherwise a new id is made and the thread found.
	ID       string
	ThreadID string

	// Seen, when set, is the inbox as the caller read it moments ago (the
	// SMTP recipient lookup). In a group commit it stands in for reading
	// the inbox again: that read is only the early, unlocked cap check,
	// and the batch's locked counter update stays the authoritative one.
	Seen *Recipient

	// batch, when set, defers the usage and contact counts to the end of
	// a group-commit transaction (Batch.Store sets it).
	batch *Batch
	// tally, when set, counts the message for the metrics once its
	// transaction has committed (Batch.Store); without it the message is
	// counted when stored.
	tally *tally
}

// Stored identifies a stored message.
type Stored struct {
	ID       string
	ThreadID string
	Size     int64
}

// Store saves a message in one inbox inside the caller's transaction: the
// raw bytes, the parsed metadata, its thread, its attachments' metadata,
// the contacts it involves and the inbox's usage counters, and (inbound)
// a message.received event. Under an enforce cap a message that would take
// the inbox past its limit is refused with storage_cap_exceeded and
// nothing is written. Stores into one inbox are serialized by the inbox
// row lock taken first.
func (s *Service) Store(ctx context.Context, tx *gorm.DB, in StoreInput) (*Stored, error) {
	if in.Direction != models.DirectionInbound && in.Direction != models.DirectionOutbound {
		return nil, fmt.Errorf("store message: bad direction %q", in.Direction)
	}
	if in.Status == "" {
		return nil, errors.New("store message: status is required")
	}
	p := in.Parsed
	if p == nil {
		var err error
		if p, err = Parse(in.Raw, s.limits); err != nil {
			return nil, &models.Error{Code: models.CodeValidation, Message: "the message cannot be stored: " + err.Error()}
		}
	}
	labels, err := cleanLabels(in.Labels, "labels")
	if err != nil {
		return nil, err
	}
	db := tx.WithContext(ctx)
	// Inbound mail's verdict is decided here, in the storing transaction,
	// and the message stored as a reader would see it (screen.go).
	var verdict *models.Screening
	quarantined := false
	if in.Direction == models.DirectionInbound {
		if verdict, quarantined, p, err = s.screen(ctx, db, in, p); err != nil {
			return nil, err
		}
	}
	size := int64(len(in.Raw))

	// Usage first: the check and the increment are one statement, and the
	// row lock it takes orders concurrent stores into this inbox. In a
	// group commit they are made once per inbox at the end (Batch.flush),
	// which also runs the usage hook.
	var inbox struct {
		Address    string
		UsedBytes  int64
		AlertCheck bool
	}
	if in.batch != nil {
		addr, err := in.batch.reserve(db, in.OrgID, in.InboxID, size, in.Seen)
		if err != nil {
			return nil, err
		}
		inbox.Address = addr
	} else {
		res := db.Raw(`UPDATE inboxes SET used_bytes = used_bytes + @n, message_count = message_count + 1
			WHERE id = @id AND org_id = @org AND status = 'active'
			  AND (cap_mode IS DISTINCT FROM 'enforce' OR cap_limit_bytes IS NULL OR used_bytes + @n <= cap_limit_bytes)
			RETURNING address, used_bytes, `+alertCheck, map[string]any{"n": size, "id": in.InboxID, "org": in.OrgID}).Scan(&inbox)
		if res.Error != nil {
			return nil, fmt.Errorf("store message: count usage: %w", res.Error)
		}
		if res.RowsAffected == 0 {
			return nil, s.refusal(db, in.OrgID, in.InboxID, size)
		}
	}

	read := in.Read
	participants := participantsOf(p, inbox.Address)
	threadID := in.ThreadID
	if threadID == "" {
		if threadID, err = s.findThread(db, in.InboxID, p); err != nil {
			return nil, err
		}
	}
	preview := Preview(p.ExtractedText)
	unread := 0
	if !read {
		unread = 1
	}
	if threadID == "" {
		// A quarantined message's new thread counts no message until the
		// message is released: threads without messages are not shown.
		count := 1
		if quarantined {
			count, unread = 0, 0
		}
		threadID = models.NewID(models.PrefixThread)
		err = db.Exec(`INSERT INTO threads (id, org_id, inbox_id, subject, normalized_subject, preview, participants,
				message_count, unread_count, last_message_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, now())`,
			threadID, in.OrgID, in.InboxID, p.Subject, NormalizeSubject(p.Subject), preview,
			models.StringArray(participants), count, unread).Error
	} else if !quarantined {
		err = db.Exec(`UPDATE threads SET message_count = message_count + 1, unread_count = unread_count + ?,
				last_message_at = now(), preview = ?,
				participants = (SELECT coalesce(array_agg(DISTINCT x), '{}') FROM
					(SELECT x FROM unnest(participants || ?::text[]) x LIMIT 100) u)
			WHERE id = ?`, unread, preview, models.StringArray(participants), threadID).Error
	}
	if err != nil {
		return nil, fmt.Errorf("store message: thread: %w", err)
	}

	id := in.ID
	if id == "" {
		id = models.NewID(models.PrefixMessage)
	}
	var authJSON any
	if in.Auth != nil {
		b, _ := json.Marshal(in.Auth)
		authJSON = string(b)
	}
	searchText := p.Text
	if searchText == "" {
		searchText = HTMLToText(p.HTML, false)
	}
	if len(searchText) > searchTextLimit {
		searchText = strings.ToValidUTF8(searchText[:searchTextLimit], "")
	}
	// Most often the search text is the text itself: it is then sent once
	// (NULL, read as @text), not twice.
	var search any = searchText
	if searchText == p.Text {
		search = nil
	}
	// The text without quoted history is most often the whole text,
	// tidied: then it is not stored a second time (NULL reads as the text
	// tidied, messageRow.detail).
	var extracted any = p.ExtractedText
	if p.ExtractedText == tidy(p.Text) {
		extracted = nil
	}
	// Inbound mail records what marks it as automatic (the loop guard
	// reads it when the agent answers).
	var automatic any
	if in.Direction == models.DirectionInbound {
		sig := LoopSignal(in.Raw)
		if sig == "" && in.MailFrom == "" && in.RcptTo != "" {
			sig = "null return path" // MAIL FROM:<> over SMTP
		}
		automatic = sig
	}
	err = db.Exec(`INSERT INTO messages (id, org_id, inbox_id, thread_id, direction, status, mail_from, rcpt_to,
			message_id, in_reply_to, refs, from_addr, reply_to, to_addrs, cc_addrs, bcc_addrs, subject, sent_at,
			headers, text_body, html_body, extracted_text, preview, auth, labels, read, raw, size, screening, quarantined, automatic, search)
		VALUES (@id, @org, @inbox, @thread, @dir, @status, @mail_from, @rcpt_to,
			@message_id, @in_reply_to, @refs, @from, @reply_to, @to, @cc, @bcc, @subject, @sent_at,
			@headers, @text, @html, @extracted, @preview, @auth, @labels, @read, @raw, @size, @screening, @quarantined, @automatic,
			setweight(to_tsvector('english', @subject), 'A') ||
			setweight(to_tsvector('english', @addr_text), 'B') ||
			setweight(to_tsvector('english', coalesce(@search_text, @text)), 'C'))`,
		map[string]any{
			"id": id, "org": in.OrgID, "inbox": in.InboxID, "thread": threadID, "dir": in.Direction,
			"status": in.Status, "mail_from": clean(in.MailFrom), "rcpt_to": clean(in.RcptTo),
			"message_id": p.MessageID, "in_reply_to": p.InReplyTo, "refs": models.StringArray(p.References),
			"from": jsonText(p.From), "reply_to": jsonText(nonNil(p.ReplyTo)), "to": jsonText(nonNil(p.To)),
			"cc": jsonText(nonNil(p.Cc)), "bcc": jsonText(nonNil(p.Bcc)), "subject": p.Subject,
			"sent_at": p.Date, "headers": jsonText(p.Headers), "text": p.Text, "html": p.HTML,
			"extracted": extracted, "preview": preview, "auth": authJSON,
			"labels": models.StringArray(labels), "read": read, "raw": in.Raw, "size": size,
			"addr_text": addressText(p), "search_text": search,
			"screening": screeningJSON(verdict), "quarantined": quarantined, "automatic": automatic,
		}).Error
	if err != nil {
		return nil, fmt.Errorf("store message: insert: %w", err)
	}
	for i, a := range p.Attachments {
		err := db.Exec(`INSERT INTO attachments (id, org_id, inbox_id, message_id, part_path, filename, content_type,
				size, content_id, inline, position) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			models.NewID(models.PrefixAttach), in.OrgID, in.InboxID, id, a.Path, a.Filename, a.ContentType,
			a.Size, a.ContentID, a.Inline, i).Error
		if err != nil {
			return nil, fmt.Errorf("store message: attachment: %w", err)
		}
	}
	if !quarantined {
		if err := s.recordContacts(db, in, p, inbox.Address); err != nil {
			return nil, err
		}
	}
	if err := s.usageChanged(ctx, tx, inbox.AlertCheck, in.OrgID, in.InboxID, inbox.UsedBytes); err != nil {
		return nil, err
	}
	if in.Direction == models.DirectionInbound {
		if err := s.emitArrival(ctx, tx, in.OrgID, in.InboxID, id, threadID, p.From.Address, p.Subject, size, verdict, quarantined, false); err != nil {
			return nil, err
		}
	}
	s.countStored(in, size, quarantined)
	return &Stored{ID: id, ThreadID: threadID, Size: size}, nil
}

// refusal explains why the usage UPDATE of Store matched no row: the
// inbox is gone (not_found), or an enforce cap has no room for the message
// (storage_cap_exceeded, naming the usage, the limit and the size).
func (s *Service) refusal(db *gorm.DB, orgID, inboxID string, size int64) error {
	var rows []struct {
		UsedBytes     int64
		CapLimitBytes *int64
	}
	if err := db.Raw(`SELECT used_bytes, cap_limit_bytes FROM inboxes WHERE id = ? AND org_id = ? AND status = 'active'`,
		inboxID, orgID).Scan(&rows).Error; err != nil {
		return fmt.Errorf("store message: %w", err)
	}
	if len(rows) == 0 {
		return models.NotFound("inbox")
	}
	r := rows[0]
	limit := int64(0)
	if r.CapLimitBytes != nil {
		limit = *r.CapLimitBytes
	}
	return capExceeded(r.UsedBytes, limit, size)
}

// capExceeded is the storage_cap_exceeded refusal, naming the usage, the
// limit, the room left and the message's size.
func capExceeded(used, limit, size int64) error {
	free := max(limit-used, 0)
	return &models.Error{Code: models.CodeStorageCapExceeded, Message: fmt.Sprintf(
		"storage cap exceeded: the inbox uses %d of its %d-byte limit (%d bytes free) and this message is %d bytes; "+
			"delete mail or raise the cap (PUT /v1/billing/caps/mailbox/)", used, limit, free, size)}
}

func nonNil(a []models.Address) []models.Address {
	if a == nil {
		return []models.Address{}
	}
	return a
}

func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return "null"
	}
	return string(b)
}

// addressText is what search indexes of the address headers: names,
// addresses and their domains.
func addressText(p *Parsed) string {
	var b strings.Builder
	add := func(a models.Address) {
		b.WriteString(a.Name + " " + a.Address + " ")
		if _, d, ok := strings.Cut(a.Address, "@"); ok {
			b.WriteString(d + " ")
		}
	}
	add(p.From)
	for _, l := range [][]models.Address{p.To, p.Cc, p.ReplyTo} {
		for i, a := range l {
			if i >= 50 {
				break
			}
			add(a)
		}
	}
	return b.String()
}

// participantsOf lists the distinct addresses of a message, the inbox's
// own left out.
func participantsOf(p *Parsed, own string) []string {
	seen := map[string]bool{strings.ToLower(own): true, "": true}
	var out []string
	for _, l := range [][]models.Address{{p.From}, p.To, p.Cc} {
		for _, a := range l {
			addr := strings.ToLower(a.Address)
			if !seen[addr] && len(out) < 50 {
				seen[addr] = true
				out = append(out, addr)
			}
		}
	}
	return out
}

// findThread links a message to a thread of its inbox: the thread of the
// message it replies to (In-Reply-To, then References, newest first), else
// of a message already stored that refers to it, else — only when it has
// no In-Reply-To and no References and its subject is a reply's — the
// most recent thread of the last 30 days with the same normalized subject.
// "" means a new thread.
func (s *Service) findThread(db *gorm.DB, inboxID string, p *Parsed) (string, error) {
	var wanted []string
	if p.InReplyTo != "" {
		wanted = append(wanted, p.InReplyTo)
	}
	for i := len(p.References) - 1; i >= 0; i-- {
		wanted = append(wanted, p.References[i])
	}
	if len(wanted) > 0 {
		var rows []struct{ MessageID, ThreadID string }
		err := db.Raw(`SELECT DISTINCT ON (message_id) message_id, thread_id FROM messages
			WHERE inbox_id = ? AND message_id = ANY(?::text[]) AND message_id <> '' ORDER BY message_id, id`,
			inboxID, models.StringArray(wanted)).Scan(&rows).Error
		if err != nil {
			return "", fmt.Errorf("store message: find thread: %w", err)
		}
		byID := map[string]string{}
		for _, r := range rows {
			byID[r.MessageID] = r.ThreadID
		}
		for _, w := range wanted {
			if t := byID[w]; t != "" {
				return t, nil
			}
		}
	}
	if p.MessageID != "" {
		var t string
		// Every message asks this, so it must not grow with the inbox.
		// The references are looked up alone (materialized: otherwise the
		// planner ANDs in a bitmap of the whole inbox's rows from the
		// inbox index), and the inbox is checked on the few rows found.
		// "in_reply_to <> ''" is the partial index's predicate: a cached
		// generic plan cannot prove it from a parameter, and without it
		// scanned the table (seconds at a million messages).
		err := db.Raw(`WITH r AS MATERIALIZED (SELECT thread_id, inbox_id FROM messages WHERE refs @> ARRAY[?]::text[])
			SELECT thread_id FROM r WHERE inbox_id = ?
			UNION ALL SELECT thread_id FROM messages WHERE inbox_id = ? AND in_reply_to = ? AND in_reply_to <> '' LIMIT 1`,
			p.MessageID, inboxID, inboxID, p.MessageID).Scan(&t).Error
		if err != nil {
			return "", fmt.Errorf("store message: find thread: %w", err)
		}
		if t != "" {
			return t, nil
		}
	}
	norm := NormalizeSubject(p.Subject)
	if p.InReplyTo == "" && len(p.References) == 0 && norm != "" && isReplySubject(p.Subject) {
		var t string
		err := db.Raw(`SELECT id FROM threads WHERE inbox_id = ? AND normalized_subject = ?
			AND last_message_at > now() - interval '30 days' ORDER BY last_message_at DESC LIMIT 1`,
			inboxID, norm).Scan(&t).Error
		if err != nil {
			return "", fmt.Errorf("store message: find thread: %w", err)
		}
		return t, nil
	}
	return "", nil
}

// maxLabels is how many labels a message may carry.
const maxLabels = 32

// cleanLabels validates labels: 1–64 printable characters, no commas.
func cleanLabels(in []string, field string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	for i, l := range in {
		l = strings.TrimSpace(l)
		f := fmt.Sprintf("%s[%d]", field, i)
		if l == "" || utf8.RuneCountInString(l) > 64 || !utf8.ValidString(l) {
			return nil, models.Invalid(f, "a label is 1 to 64 characters")
		}
		for _, r := range l {
			if unicode.IsControl(r) || r == ',' {
				return nil, models.Invalid(f, "a label may not contain control characters or commas")
			}
		}
		if !seen[l] {
			seen[l] = true
			out = append(out, l)
		}
	}
	if len(out) > maxLabels {
		return nil, models.Invalid(field, "a message carries at most %d labels", maxLabels)
	}
	return out, nil
}

// messageRow is a row of messages as read for the API.
type messageRow struct {
	ID            string
	InboxID       string
	ThreadID      string
	Direction     string
	Status        string
	MessageID     string
	InReplyTo     string
	Refs          models.StringArray
	FromAddr      []byte
	ReplyTo       []byte
	ToAddrs       []byte
	CcAddrs       []byte
	BccAddrs      []byte
	Subject       string
	SentAt        *time.Time
	Preview       string
	Auth          []byte
	Labels        models.StringArray
	Read          bool
	Size          int64
	CreatedAt     time.Time
	TextBody      string
	HTMLBody      string
	ExtractedText *string // nil: the text tidied (Store keeps one copy)
	Headers       []byte
	Screening     []byte
	Automatic     *string
}

// summaryColumns select a message's summary from messages (unaliased).
// A sent message's status is its send's (outbound_messages, kept by
// daemon/delivery): delivery results change that small row only, never
// the message's, whose every update is a new version with entries in all
// its indexes, search included.
const summaryColumns = `id, inbox_id, thread_id, direction,
	CASE WHEN direction = 'outbound' THEN coalesce((SELECT o.status FROM outbound_messages o WHERE o.id = messages.id), status)
		ELSE status END AS status,
	message_id, in_reply_to, refs, from_addr,
	reply_to, to_addrs, cc_addrs, bcc_addrs, subject, sent_at, preview, auth, labels, read, size, created_at, screening, automatic`

const detailColumns = summaryColumns + `, text_body, html_body, extracted_text, headers`

func (r *messageRow) summary() models.MessageSummary {
	m := models.MessageSummary{ID: r.ID, ThreadID: r.ThreadID, InboxID: r.InboxID, Direction: r.Direction,
		Status: r.Status, MessageID: r.MessageID, InReplyTo: r.InReplyTo, References: []string(r.Refs),
		Subject: r.Subject, Date: r.SentAt, Preview: r.Preview, Labels: []string(r.Labels), Read: r.Read,
		Size: r.Size, CreatedAt: r.CreatedAt, Attachments: []models.Attachment{}}
	_ = json.Unmarshal(r.FromAddr, &m.From)
	for _, f := range []struct {
		src []byte
		dst *[]models.Address
	}{{r.ReplyTo, &m.ReplyTo}, {r.ToAddrs, &m.To}, {r.CcAddrs, &m.Cc}, {r.BccAddrs, &m.Bcc}} {
		_ = json.Unmarshal(f.src, f.dst)
		if *f.dst == nil {
			*f.dst = []models.Address{}
		}
	}
	if r.Direction == models.DirectionInbound {
		m.Bcc = nil // a Bcc header on received mail is not for the recipient to see
	}
	if len(r.Auth) > 0 && string(r.Auth) != "null" {
		var a models.AuthResults
		if json.Unmarshal(r.Auth, &a) == nil {
			m.Auth = &a
		}
	}
	if len(r.Screening) > 0 && string(r.Screening) != "null" {
		var sc models.Screening
		if json.Unmarshal(r.Screening, &sc) == nil {
			m.Screening = &sc
		}
	}
	if r.Direction == models.DirectionInbound {
		m.Automatic = r.Automatic
	}
	if m.References == nil {
		m.References = []string{}
	}
	if m.Labels == nil {
		m.Labels = []string{}
	}
	return m
}

func (r *messageRow) detail() models.Message {
	m := models.Message{MessageSummary: r.summary(), Text: r.TextBody, HTML: r.HTMLBody}
	if r.ExtractedText != nil {
		m.ExtractedText = *r.ExtractedText
	} else {
		m.ExtractedText = tidy(r.TextBody)
	}
	_ = json.Unmarshal(r.Headers, &m.Headers)
	if m.Headers == nil {
		m.Headers = []models.HeaderField{}
	}
	return m
}

// attachmentsOf loads the attachments of messages, by message id.
func (s *Service) attachmentsOf(ctx context.Context, db *gorm.DB, ids []string) (map[string][]models.Attachment, error) {
	out := map[string][]models.Attachment{}
	if len(ids) == 0 {
		return out, nil
	}
	var rows []struct {
		models.Attachment
		MessageID string
	}
	err := db.WithContext(ctx).Raw(`SELECT id, message_id, filename, content_type, size, content_id, inline
		FROM attachments WHERE message_id = ANY(?::text[]) ORDER BY message_id, position`, models.StringArray(ids)).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("load attachments: %w", err)
	}
	for _, r := range rows {
		out[r.MessageID] = append(out[r.MessageID], r.Attachment)
	}
	return out, nil
}

// ListMessages returns a page of an inbox's messages, newest first. The
// cursor is the id of the last message of the previous page.
func (s *Service) ListMessages(ctx context.Context, orgID, inboxID string, f models.MessageFilter, cursor string, limit int) ([]models.MessageSummary, string, error) {
	if cursor != "" && !models.HasPrefix(cursor, models.PrefixMessage) {
		return nil, "", models.Invalid("cursor", "cursor is not valid")
	}
	switch f.Direction {
	case "", models.DirectionInbound, models.DirectionOutbound:
	default:
		return nil, "", models.Invalid("direction", "direction must be inbound or outbound")
	}
	text := strings.TrimSpace(f.Query)
	if len(f.Query) > 500 {
		return nil, "", models.Invalid("q", "q must be at most 500 characters")
	}
	// filtered is the inbox's messages with the filters other than q.
	filtered := func() *gorm.DB {
		q := s.db.DB.WithContext(ctx).Table("messages").Where("inbox_id = ? AND org_id = ? AND NOT quarantined", inboxID, orgID)
		if f.ThreadID != "" {
			q = q.Where("thread_id = ?", f.ThreadID)
		}
		if f.Label != "" {
			q = q.Where("labels @> ARRAY[?]::text[]", f.Label)
		}
		if f.Unread != nil {
			q = q.Where("read = ?", !*f.Unread)
		}
		if f.Direction != "" {
			q = q.Where("direction = ?", f.Direction)
		}
		return q
	}
	var rows []messageRow
	if text == "" {
		q := filtered().Select(summaryColumns)
		if cursor != "" {
			q = q.Where("id < ?", cursor)
		}
		if err := q.Order("id DESC").Limit(limit + 1).Scan(&rows).Error; err != nil {
			return nil, "", fmt.Errorf("list messages: %w", err)
		}
	} else {
		ids, err := s.searchIDs(ctx, orgID, inboxID, f, clean(text), cursor, limit+1)
		if err != nil {
			return nil, "", err
		}
		if len(ids) > 0 {
			if err := filtered().Select(summaryColumns).Where("id = ANY(?::text[])", models.StringArray(ids)).
				Order("id DESC").Scan(&rows).Error; err != nil {
				return nil, "", fmt.Errorf("search messages: %w", err)
			}
		}
	}
	next := ""
	if len(rows) > limit {
		rows = rows[:limit]
		next = rows[limit-1].ID
	}
	ids := make([]string, len(rows))
	for i := range rows {
		ids[i] = rows[i].ID
	}
	atts, err := s.attachmentsOf(ctx, s.db.DB, ids)
	if err != nil {
		return nil, "", err
	}
	out := make([]models.MessageSummary, len(rows))
	for i := range rows {
		out[i] = rows[i].summary()
		if a := atts[rows[i].ID]; a != nil {
			out[i].Attachments = a
		}
	}
	return out, next, nil
}

// Search plans. A page of results is the newest matches, and no single
// plan is good for every word: walking the inbox newest first and testing
// each message is fast when matches are dense (one in two messages: a page
// after ~100 rows) and hopeless when there are none (every row of the
// inbox); the GIN index finds rare words at once but must fetch every
// match before it can sort them (a word in 1% of a million-message inbox:
// 10,000 rows). Postgres picks between them from a frequency estimate that
// is poor for all but the commonest words, so searchIDs decides from what
// it measures. It walks the newest rows first (4 per result wanted, at
// least searchProbe: a word in one message in two fills a page there),
// then compares, at the density seen so far, the rows a walk would still
// test with the matches the index would fetch from the rest of the inbox
// (its message counter): a fetched match costs about walkPerMatch tested
// rows. It keeps walking while that is cheaper, up to searchBudget rows.
const (
	searchProbe  = 200
	searchBudget = 20000
	walkPerMatch = 4
)

// searchIDs returns up to need ids of messages matching the websearch
// query text, newest first, below cursor. Its statements go straight to
// pgx as unnamed ones, so each is planned for its own word: a cached
// generic plan knows no word's frequency and, after a few executions,
// turned the GIN lookup of a rare word into a walk of the whole inbox.
func (s *Service) searchIDs(ctx context.Context, orgID, inboxID string, f models.MessageFilter, text, cursor string, need int) ([]string, error) {
	// $1 is the query text; the filters follow.
	args := []any{text, inboxID, orgID}
	where := "inbox_id = $2 AND org_id = $3 AND NOT quarantined"
	add := func(cond string, v any) {
		args = append(args, v)
		where += " AND " + strings.Replace(cond, "?", fmt.Sprintf("$%d", len(args)), 1)
	}
	if f.ThreadID != "" {
		add("thread_id = ?", f.ThreadID)
	}
	if f.Label != "" {
		add("labels @> ARRAY[?::text]", f.Label)
	}
	if f.Unread != nil {
		add("read = ?", !*f.Unread)
	}
	if f.Direction != "" {
		add("direction = ?", f.Direction)
	}
	below := func(floor string) (string, []any) {
		if floor == "" {
			return where, args
		}
		a := append(append([]any{}, args...), floor)
		return where + fmt.Sprintf(" AND id < $%d", len(a)), a
	}
	const match = "search @@ websearch_to_tsquery('english', $1)"
	var out []string
	var total int
	if err := s.db.Pool.QueryRow(ctx, `SELECT message_count FROM inboxes WHERE id = $1`, pgx.QueryExecModeExec, inboxID).Scan(&total); err != nil {
		return nil, fmt.Errorf("search messages: %w", err)
	}
	floor := cursor
	scanned, hits, p := 0, 0, max(4*need, searchProbe)
	for {
		// One row back: how many rows were walked, the oldest of them
		// (where a further walk starts), how many matched, and the newest
		// matches still wanted — not every walked row's id.
		w, a := below(floor)
		a = append(a, p, need-len(out))
		var n, h int
		var last *string
		var found []string
		err := s.db.Pool.QueryRow(ctx, fmt.Sprintf(`SELECT count(*), min(id), count(*) FILTER (WHERE hit),
				coalesce((array_agg(id ORDER BY id DESC) FILTER (WHERE hit))[1:$%d], '{}')
			FROM (SELECT id, %s AS hit FROM messages WHERE %s ORDER BY id DESC LIMIT $%d) walked`,
			len(a), match, w, len(a)-1), append([]any{pgx.QueryExecModeExec}, a...)...).Scan(&n, &last, &h, &found)
		if err != nil {
			return nil, fmt.Errorf("search messages: %w", err)
		}
		hits += h
		out = append(out, found...)
		scanned += n
		if len(out) >= need || n < p {
			return out, nil // a full page, or the whole inbox walked
		}
		floor = *last
		if hits == 0 {
			break
		}
		walk := (need - len(out)) * scanned / hits      // rows still to test
		fetch := max(total-scanned, 0) * hits / scanned // matches left for the index
		if scanned+walk > searchBudget || walk > walkPerMatch*fetch {
			break
		}
		p = min(max(walk*5/4, searchProbe), searchBudget-scanned)
	}
	// Sparse: the remaining matches, all of them through the GIN index
	// (materialized, so the planner cannot turn it back into a walk).
	w, a := below(floor)
	a = append(a, need-len(out))
	rows, err := s.db.Pool.Query(ctx, fmt.Sprintf(`WITH hits AS MATERIALIZED (SELECT id FROM messages WHERE %s AND %s)
		SELECT id FROM hits ORDER BY id DESC LIMIT $%d`, w, match, len(a)), append([]any{pgx.QueryExecModeExec}, a...)...)
	if err != nil {
		return nil, fmt.Errorf("search messages: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("search messages: %w", err)
		}
		out = append(out, id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("search messages: %w", err)
	}
	return out, nil
}

// GetMessage returns one message of the inbox with its bodies.
func (s *Service) GetMessage(ctx context.Context, orgID, inboxID, id string) (*models.Message, error) {
	return s.messageDetail(ctx, "message", `SELECT `+detailColumns+` FROM messages
		WHERE id = ? AND inbox_id = ? AND org_id = ? AND NOT quarantined`, id, inboxID, orgID)
}

// messageDetail loads the one message q selects (detailColumns, id as its
// first argument) with its attachments; none is a 404 naming what.
func (s *Service) messageDetail(ctx context.Context, what, q string, id string, args ...any) (*models.Message, error) {
	var rows []messageRow
	err := s.db.DB.WithContext(ctx).Raw(q, append([]any{id}, args...)...).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", what, err)
	}
	if len(rows) == 0 {
		return nil, models.NotFound(what)
	}
	atts, err := s.attachmentsOf(ctx, s.db.DB, []string{id})
	if err != nil {
		return nil, err
	}
	m := rows[0].detail()
	if a := atts[id]; a != nil {
		m.Attachments = a
	}
	return &m, nil
}

// RawMessage returns a message exactly as stored.
func (s *Service) RawMessage(ctx context.Context, orgID, inboxID, id string) ([]byte, error) {
	var rows []struct{ Raw []byte }
	err := s.db.DB.WithContext(ctx).Raw(`SELECT raw FROM messages WHERE id = ? AND inbox_id = ? AND org_id = ? AND NOT quarantined`,
		id, inboxID, orgID).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("get raw message: %w", err)
	}
	if len(rows) == 0 {
		return nil, models.NotFound("message")
	}
	return rows[0].Raw, nil
}

// AttachmentContent returns an attachment's metadata and decoded bytes.
// Text attachments are converted to UTF-8 (their content type then says
// charset=utf-8).
func (s *Service) AttachmentContent(ctx context.Context, orgID, inboxID, messageID, attID string) (*models.Attachment, []byte, error) {
	var rows []struct {
		models.Attachment
		PartPath string
		Raw      []byte
	}
	err := s.db.DB.WithContext(ctx).Raw(`SELECT a.id, a.filename, a.content_type, a.size, a.content_id, a.inline, a.part_path, m.raw
		FROM attachments a JOIN messages m ON m.id = a.message_id
		WHERE a.id = ? AND a.message_id = ? AND a.inbox_id = ? AND a.org_id = ? AND NOT m.quarantined`,
		attID, messageID, inboxID, orgID).Scan(&rows).Error
	if err != nil {
		return nil, nil, fmt.Errorf("get attachment: %w", err)
	}
	if len(rows) == 0 {
		return nil, nil, models.NotFound("attachment")
	}
	b, err := AttachmentPart(rows[0].Raw, rows[0].PartPath, s.limits)
	if err != nil {
		return nil, nil, fmt.Errorf("get attachment %s: %w", attID, err)
	}
	a := rows[0].Attachment
	return &a, b, nil
}

// UpdateMessage adds and removes labels and sets the read flag.
func (s *Service) UpdateMessage(ctx context.Context, orgID, inboxID, id string, req models.UpdateMessageRequest) (*models.Message, error) {
	add, err := cleanLabels(req.LabelsAdd, "labels_add")
	if err != nil {
		return nil, err
	}
	remove, err := cleanLabels(req.LabelsRemove, "labels_remove")
	if err != nil {
		return nil, err
	}
	if req.LabelsAdd == nil && req.LabelsRemove == nil && req.Read == nil {
		return nil, models.Invalid("labels_add", "nothing to change: give labels_add, labels_remove or read")
	}
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		var rows []struct {
			ThreadID string
			Labels   models.StringArray
			Read     bool
		}
		if err := tx.Raw(`SELECT thread_id, labels, read FROM messages WHERE id = ? AND inbox_id = ? AND org_id = ? AND NOT quarantined FOR UPDATE`,
			id, inboxID, orgID).Scan(&rows).Error; err != nil {
			return fmt.Errorf("update message: %w", err)
		}
		if len(rows) == 0 {
			return models.NotFound("message")
		}
		cur := rows[0]
		drop := map[string]bool{}
		for _, l := range remove {
			drop[l] = true
		}
		var labels []string
		have := map[string]bool{}
		for _, l := range append([]string(cur.Labels), add...) {
			if !drop[l] && !have[l] {
				have[l] = true
				labels = append(labels, l)
			}
		}
		if len(labels) > maxLabels {
			return models.Invalid("labels_add", "a message carries at most %d labels", maxLabels)
		}
		read := cur.Read
		if req.Read != nil {
			read = *req.Read
		}
		if err := tx.Exec(`UPDATE messages SET labels = ?, read = ? WHERE id = ?`, models.StringArray(labels), read, id).Error; err != nil {
			return fmt.Errorf("update message: %w", err)
		}
		if read != cur.Read {
			delta := -1
			if !read {
				delta = 1
			}
			if err := tx.Exec(`UPDATE threads SET unread_count = greatest(unread_count + ?, 0) WHERE id = ?`, delta, cur.ThreadID).Error; err != nil {
				return fmt.Errorf("update thread: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s.GetMessage(ctx, orgID, inboxID, id)
}

// DeleteMessage removes a message and releases its bytes from the inbox's
// usage in the same transaction; an emptied thread goes with it.
func (s *Service) DeleteMessage(ctx context.Context, orgID, inboxID, id string) error {
	return s.db.Tx(ctx, func(tx *gorm.DB) error {
		threadID, err := s.deleteMessageTx(ctx, tx, orgID, inboxID, id)
		if err != nil {
			return err
		}
		return tx.Exec(`DELETE FROM threads WHERE id = ? AND message_count <= 0`+threadEmpty, threadID).Error
	})
}

// ReplaceMessage replaces a stored message's bytes inside tx, keeping its
// id, thread and labels (a reviewer's edit of a held send). Usage changes
// by the difference, under the inbox's cap.
func (s *Service) ReplaceMessage(ctx context.Context, tx *gorm.DB, in StoreInput) (*Stored, error) {
	var old struct {
		ThreadID string
		Labels   models.StringArray
		Read     bool
	}
	if err := tx.Raw(`SELECT thread_id, labels, read FROM messages WHERE id = ? AND inbox_id = ? AND org_id = ?`,
		in.ID, in.InboxID, in.OrgID).Scan(&old).Error; err != nil {
		return nil, fmt.Errorf("replace message: %w", err)
	}
	if old.ThreadID == "" {
		return nil, models.NotFound("message")
	}
	if _, err := s.deleteMessageTx(ctx, tx, in.OrgID, in.InboxID, in.ID); err != nil {
		return nil, err
	}
	in.ThreadID, in.Labels, in.Read = old.ThreadID, old.Labels, old.Read
	return s.Store(ctx, tx, in)
}

// DeleteMessageTx deletes a message inside the caller's transaction,
// releasing its usage; an emptied thread goes with it.
func (s *Service) DeleteMessageTx(ctx context.Context, tx *gorm.DB, orgID, inboxID, id string) error {
	threadID, err := s.deleteMessageTx(ctx, tx, orgID, inboxID, id)
	if err != nil {
		return err
	}
	return tx.Exec(`DELETE FROM threads WHERE id = ? AND message_count <= 0`+threadEmpty, threadID).Error
}

// deleteMessageTx deletes a message and releases its usage inside tx; it
// returns the message's thread.
func (s *Service) deleteMessageTx(ctx context.Context, tx *gorm.DB, orgID, inboxID, id string) (string, error) {
	var rows []struct {
		ThreadID string
		Size     int64
		Read     bool
	}
	if err := tx.Raw(`DELETE FROM messages WHERE id = ? AND inbox_id = ? AND org_id = ? AND NOT quarantined RETURNING thread_id, size, read`,
		id, inboxID, orgID).Scan(&rows).Error; err != nil {
		return "", fmt.Errorf("delete message: %w", err)
	}
	if len(rows) == 0 {
		return "", models.NotFound("message")
	}
	r := rows[0]
	var usage struct {
		UsedBytes  int64
		AlertCheck bool
	}
	if err := tx.Raw(`UPDATE inboxes SET used_bytes = greatest(used_bytes - ?, 0), message_count = greatest(message_count - 1, 0)
		WHERE id = ? RETURNING used_bytes, `+alertCheck, r.Size, inboxID).Scan(&usage).Error; err != nil {
		return "", fmt.Errorf("delete message: usage: %w", err)
	}
	if err := s.usageChanged(ctx, tx, usage.AlertCheck, orgID, inboxID, usage.UsedBytes); err != nil {
		return "", err
	}
	unread := 0
	if !r.Read {
		unread = 1
	}
	if err := tx.Exec(`UPDATE threads SET message_count = message_count - 1, unread_count = greatest(unread_count - ?, 0),
			last_message_at = coalesce((SELECT max(created_at) FROM messages WHERE thread_id = threads.id), last_message_at),
			preview = coalesce((SELECT preview FROM messages WHERE thread_id = threads.id AND NOT quarantined ORDER BY id DESC LIMIT 1), preview)
		WHERE id = ?`, unread, r.ThreadID).Error; err != nil {
		return "", fmt.Errorf("delete message: thread: %w", err)
	}
	return r.ThreadID, nil
}

// purgeMessages deletes a batch of a deleted inbox's messages, releasing
// their usage in the same transaction.
func (s *Service) purgeMessages(ctx context.Context, db *gorm.DB, inboxID string, batch int) (int, error) {
	var n int
	err := db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var r struct {
			N     int
			Bytes int64
		}
		if err := tx.Raw(`WITH d AS (DELETE FROM messages WHERE id IN
				(SELECT id FROM messages WHERE inbox_id = ? ORDER BY id LIMIT ?) RETURNING size)
			SELECT count(*) AS n, coalesce(sum(size), 0) AS bytes FROM d`, inboxID, batch).Scan(&r).Error; err != nil {
			return err
		}
		n = r.N
		var usage struct {
			OrgID      string
			UsedBytes  int64
			AlertCheck bool
		}
		if err := tx.Raw(`UPDATE inboxes SET used_bytes = greatest(used_bytes - ?, 0), message_count = greatest(message_count - ?, 0)
			WHERE id = ? RETURNING org_id, used_bytes, `+alertCheck, r.Bytes, r.N, inboxID).Scan(&usage).Error; err != nil {
			return err
		}
		return s.usageChanged(ctx, tx, usage.AlertCheck, usage.OrgID, inboxID, usage.UsedBytes)
	})
	return n, err
}

// purgeThreads deletes a batch of a deleted inbox's (now empty) threads.
func (s *Service) purgeThreads(ctx context.Context, db *gorm.DB, inboxID string, batch int) (int, error) {
	res := db.WithContext(ctx).Exec(`DELETE FROM threads WHERE id IN (SELECT id FROM threads WHERE inbox_id = ?
		AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.thread_id = threads.id) LIMIT ?)`, inboxID, batch)
	return int(res.RowsAffected), res.Error
}
