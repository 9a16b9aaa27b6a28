// Package mailgen makes synthetic messages for benchmarks and load tests:
// plausible RFC 5322 text (CRLF lines, headers a real client sends, words
// drawn from an English vocabulary so that full-text search has realistic
// work), of a requested size, deterministic for a given sequence number.
//
// Three words appear with known frequencies so that searches of known
// selectivity can be asked: Common in every 2nd message, Medium in every
// 100th, Rare in every 10,000th. No other word of the vocabulary stems to
// them.
package mailgen

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"time"
)

// Search terms of known frequency.
const (
	Common = "quarterly" // every 2nd message
	Medium = "invoice"   // every 100th
	Rare   = "kestrel"   // every 10,000th
)

// Options describe one message.
type Options struct {
	From, To string
	// Size is the approximate size of the whole message in bytes (within
	// a line's length); at least the headers.
	Size int
	// Seq makes the message unique (Message-ID, subject, words).
	Seq int
	// Multipart adds an HTML alternative and a binary attachment taking
	// about a third of Size.
	Multipart bool
	// Date of the message; zero: now.
	Date time.Time
	// Domain is the right-hand side of the Message-ID; empty: From's domain.
	Domain string
}

var vocabulary = []string{
	"the", "of", "and", "to", "in", "is", "for", "that", "with", "on", "as", "was", "by", "at", "from",
	"this", "be", "are", "or", "an", "have", "not", "which", "will", "can", "all", "has", "their", "more",
	"would", "about", "other", "new", "time", "people", "year", "work", "could", "first", "after", "where",
	"system", "please", "thanks", "team", "account", "order", "shipping", "delivery", "package", "customer",
	"support", "ticket", "request", "update", "status", "project", "meeting", "schedule", "calendar",
	"agenda", "review", "draft", "document", "attached", "signed", "contract", "budget", "forecast",
	"revenue", "pricing", "discount", "subscription", "renewal", "payment", "receipt", "refund", "balance",
	"statement", "transfer", "deposit", "purchase", "vendor", "supplier", "warehouse", "inventory", "stock",
	"product", "release", "feature", "roadmap", "feedback", "survey", "question", "answer", "issue",
	"problem", "solution", "deadline", "tomorrow", "yesterday", "morning", "afternoon", "evening", "weekend",
	"monday", "tuesday", "wednesday", "thursday", "friday", "january", "february", "march", "april",
	"june", "july", "august", "september", "october", "november", "december", "london", "paris", "berlin",
	"tokyo", "madrid", "lisbon", "vienna", "prague", "oslo", "dublin", "travel", "flight", "hotel",
	"booking", "reservation", "confirm", "cancel", "change", "address", "phone", "number", "reference",
	"details", "information", "attachment", "report", "summary", "analysis", "results", "numbers", "chart",
	"slides", "presentation", "training", "session", "workshop", "conference", "webinar", "invite",
	"guest", "speaker", "venue", "lunch", "dinner", "coffee", "office", "remote", "laptop", "password",
	"security", "access", "login", "server", "database", "backup", "restore", "deploy", "build", "test",
	"error", "warning", "alert", "monitor", "metrics", "latency", "throughput", "capacity", "storage",
	"network", "router", "printer", "license", "note", "agreement", "policy", "compliance", "audit",
	"legal", "counsel", "partner", "client", "prospect", "lead", "campaign", "newsletter", "announcement",
	"launch", "event", "holiday", "vacation", "leave", "benefits", "salary", "bonus", "promotion", "hiring",
	"candidate", "interview", "offer", "onboarding", "manager", "director", "engineer", "designer",
	"analyst", "assistant", "colleague", "friend", "family", "garden", "weather", "rain", "sunny", "river",
	"mountain", "coast", "harbour", "bridge", "station", "train", "platform", "museum", "gallery",
}

// Message returns one message.
func Message(o Options) []byte {
	r := rand.New(rand.NewPCG(uint64(o.Seq), 0x6d61696c67656e))
	date := o.Date
	if date.IsZero() {
		date = time.Now()
	}
	domain := o.Domain
	if domain == "" {
		domain = domainOf(o.From)
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: %s <%s>\r\n", nameOf(r), o.From)
	fmt.Fprintf(&b, "To: <%s>\r\n", o.To)
	fmt.Fprintf(&b, "Subject: %s %s update #%d\r\n", title(vocabulary[40+r.IntN(len(vocabulary)-40)]), vocabulary[40+r.IntN(len(vocabulary)-40)], o.Seq)
	fmt.Fprintf(&b, "Date: %s\r\n", date.UTC().Format(time.RFC1123Z))
	fmt.Fprintf(&b, "Message-ID: <%d.%x@%s>\r\n", o.Seq, r.Uint64(), domain)
	b.WriteString("MIME-Version: 1.0\r\n")
	words := terms(o.Seq)
	if !o.Multipart {
		b.WriteString("Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n")
		body(&b, r, o.Size-b.Len(), words)
		return b.Bytes()
	}
	boundary := fmt.Sprintf("=_mailgen_%x", r.Uint64())
	fmt.Fprintf(&b, "Content-Type: multipart/mixed; boundary=%q\r\n\r\n", boundary)
	rest := o.Size - b.Len()
	alt := fmt.Sprintf("=_alt_%x", r.Uint64())
	fmt.Fprintf(&b, "--%s\r\nContent-Type: multipart/alternative; boundary=%q\r\n\r\n", boundary, alt)
	fmt.Fprintf(&b, "--%s\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n", alt)
	body(&b, r, rest/3, words)
	fmt.Fprintf(&b, "--%s\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<html><body><p>", alt)
	body(&b, r, rest/3-40, words)
	fmt.Fprintf(&b, "</p></body></html>\r\n--%s--\r\n", alt)
	fmt.Fprintf(&b, "--%s\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=\"data-%d.bin\"\r\n"+
		"Content-Transfer-Encoding: base64\r\n\r\n", boundary, o.Seq)
	// 57 bytes make one 76-character line and its CRLF.
	n := (o.Size - b.Len() - len(boundary) - 8) * 57 / 78
	if n < 16 {
		n = 16
	}
	raw := make([]byte, n)
	for i := range raw {
		raw[i] = byte(r.Uint32())
	}
	enc := base64.StdEncoding.EncodeToString(raw)
	for len(enc) > 76 {
		b.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	b.WriteString(enc + "\r\n")
	fmt.Fprintf(&b, "--%s--\r\n", boundary)
	return b.Bytes()
}

// terms are the known-frequency words message seq carries.
func terms(seq int) []string {
	var t []string
	if seq%2 == 0 {
		t = append(t, Common)
	}
	if seq%100 == 0 {
		t = append(t, Medium)
	}
	if seq%10000 == 0 {
		t = append(t, Rare)
	}
	return t
}

// body writes about n bytes of text lines, the terms in the first line.
func body(b *bytes.Buffer, r *rand.Rand, n int, terms []string) {
	start := b.Len()
	line := 0
	write := func(w string) {
		if line > 0 {
			b.WriteByte(' ')
			line++
		}
		b.WriteString(w)
		line += len(w)
		if line > 68 {
			b.WriteString("\r\n")
			line = 0
		}
	}
	for _, t := range terms {
		write(t)
	}
	for b.Len()-start < n-2 {
		// Skewed towards the first (common) words, as language is.
		i := int(float64(len(vocabulary)) * r.Float64() * r.Float64())
		write(vocabulary[i])
	}
	if line > 0 {
		b.WriteString("\r\n")
	}
}

var firstNames = []string{"Ada", "Grace", "Alan", "Edsger", "Barbara", "Ken", "Radia", "Donald", "Frances", "John"}
var lastNames = []string{"Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Thompson", "Perlman", "Knuth", "Allen", "Backus"}

func nameOf(r *rand.Rand) string {
	return firstNames[r.IntN(len(firstNames))] + " " + lastNames[r.IntN(len(lastNames))]
}

func title(w string) string {
	if w == "" {
		return w
	}
	return string(w[0]-'a'+'A') + w[1:]
}

func domainOf(addr string) string {
	for i := len(addr) - 1; i >= 0; i-- {
		if addr[i] == '@' {
			return addr[i+1:]
		}
	}
	return "mailgen.invalid"
}
