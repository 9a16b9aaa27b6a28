package mail

import (
	"io"
	"mime"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/emersion/go-message"
)

// How inbound MIME headers are read (DESIGN.md section 13): RFC 2045-2049
// and 2231 through mime.ParseMediaType, and, where a sender got them
// wrong, what mail clients make of them.

// entityHeader is the MIME part of a message's header fields.
func entityHeader(fields []field) message.Header {
	var h message.Header
	for _, k := range []string{"Content-Type", "Content-Transfer-Encoding", "Content-Disposition", "Content-Id"} {
		if v := get(fields, k); v != "" {
			h.Set(k, v)
		}
	}
	return h
}

// contentType reads a Content-Type. Absent, it is def (text/plain, or
// message/rfc822 in a digest); without a subtype or unparsable it is
// text/plain (RFC 2045 section 5.2). A valid type with malformed
// parameters keeps its type, and the parameters are read leniently.
func contentType(v, def string) (string, map[string]string) {
	if strings.TrimSpace(v) == "" {
		return def, map[string]string{}
	}
	mt, params := mediaType(v)
	if mt == "" || strings.Count(mt, "/") != 1 || strings.HasPrefix(mt, "/") || strings.HasSuffix(mt, "/") {
		return "text/plain", map[string]string{}
	}
	return mt, params
}

// disposition reads a Content-Disposition: "inline", "attachment" or ""
// (absent or unknown), and its parameters.
func disposition(v string) (string, map[string]string) {
	if strings.TrimSpace(v) == "" {
		return "", map[string]string{}
	}
	d, params := mediaType(v)
	if d != "inline" && d != "attachment" {
		d = ""
	}
	return d, params
}

// mediaType parses "type; k=v…" with mime.ParseMediaType (RFC 2231
// continuations and utf-8/us-ascii values included), falling back to a
// lenient reading for what it refuses: unquoted spaces, stray semicolons,
// duplicate or non-UTF-8 RFC 2231 parameters.
func mediaType(v string) (string, map[string]string) {
	mt, params, err := mime.ParseMediaType(v)
	if err == nil && !needsLenient(v, params) {
		return mt, params
	}
	if mt == "" {
		base, _, _ := strings.Cut(v, ";")
		mt = strings.ToLower(strings.TrimSpace(base))
		if strings.ContainsAny(mt, " \t\"()<>@,:\\[]?=") {
			return "", map[string]string{}
		}
	}
	return mt, lenientParams(v)
}

// needsLenient reports an RFC 2231 parameter in a charset
// mime.ParseMediaType drops (it reads only utf-8 and us-ascii).
func needsLenient(v string, params map[string]string) bool {
	for _, k := range []string{"filename", "name"} {
		if params[k] == "" && strings.Contains(strings.ToLower(v), k+"*") {
			return true
		}
	}
	return false
}

// lenientParams reads the parameters of a header value the way mail
// clients do: split at semicolons outside quotes, the first value of a
// repeated name wins, quoted and RFC 2231 values decoded in any charset
// go-message knows.
func lenientParams(v string) map[string]string {
	out := map[string]string{}
	type section struct {
		n       int
		encoded bool
		value   string
	}
	sections := map[string][]section{}
	parts := splitParams(v)
	for _, p := range parts[1:] {
		k, val, ok := strings.Cut(p, "=")
		if !ok {
			continue
		}
		k = strings.ToLower(strings.TrimSpace(k))
		val = strings.TrimSpace(val)
		if len(val) >= 2 && val[0] == '"' && val[len(val)-1] == '"' {
			val = strings.NewReplacer(`\\`, `\`, `\"`, `"`).Replace(val[1 : len(val)-1])
		}
		name, rest, star := strings.Cut(k, "*")
		if !star {
			if _, seen := out[k]; !seen {
				out[k] = val
			}
			continue
		}
		sec := section{encoded: strings.HasSuffix(rest, "*") || rest == ""}
		if num := strings.TrimSuffix(rest, "*"); num != "" {
			n, err := strconv.Atoi(num)
			if err != nil {
				continue
			}
			sec.n = n
		}
		sec.value = val
		sections[name] = append(sections[name], sec)
	}
	for name, secs := range sections {
		sort.SliceStable(secs, func(i, j int) bool { return secs[i].n < secs[j].n })
		charset := ""
		var raw strings.Builder
		for i, s := range secs {
			val := s.value
			if s.encoded {
				if i == 0 {
					if parts := strings.SplitN(val, "'", 3); len(parts) == 3 {
						charset, val = parts[0], parts[2]
					}
				}
				if u, err := url.PathUnescape(strings.ReplaceAll(val, "+", "%2B")); err == nil {
					val = u
				}
			}
			raw.WriteString(val)
		}
		// An RFC 2231 value wins over a plain one of the same name.
		out[name] = decodeCharset(raw.String(), charset)
	}
	return out
}

// splitParams splits at semicolons outside quoted strings.
func splitParams(v string) []string {
	var out []string
	quoted, start := false, 0
	for i := 0; i < len(v); i++ {
		switch v[i] {
		case '\\':
			i++
		case '"':
			quoted = !quoted
		case ';':
			if !quoted {
				out = append(out, v[start:i])
				start = i + 1
			}
		}
	}
	out = append(out, v[start:])
	return out
}

// decodeCharset converts s from charset to UTF-8 with go-message's
// charsets; s is kept when the charset is unknown.
func decodeCharset(s, charset string) string {
	charset = strings.ToLower(strings.TrimSpace(charset))
	if charset == "" || charset == "utf-8" || charset == "us-ascii" || message.CharsetReader == nil {
		return s
	}
	r, err := message.CharsetReader(charset, strings.NewReader(s))
	if err != nil {
		return s
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return s
	}
	return string(b)
}

// eightBit reads text that is not valid UTF-8 in charset, or in
// windows-1252 when charset is unknown, absent, us-ascii or utf-8.
func eightBit(s, charset string) string {
	if utf8.ValidString(s) {
		return s
	}
	switch strings.ToLower(charset) {
	case "", "us-ascii", "utf-8", "utf8":
		charset = "windows-1252"
	}
	if d := decodeCharset(s, charset); utf8.ValidString(d) && d != s {
		return d
	}
	return decodeCharset(s, "windows-1252")
}

// base64Filter drops what cannot be base64 (stray punctuation, garbage),
// and pads a last group that lacks its "=", as mail clients do, so one bad
// character does not lose the rest of a part.
type base64Filter struct {
	r   io.Reader
	n   int // base64 characters passed
	pad []byte
}

func (f *base64Filter) Read(p []byte) (int, error) {
	if f.pad != nil {
		n := copy(p, f.pad)
		f.pad = f.pad[n:]
		if len(f.pad) == 0 {
			return n, io.EOF
		}
		return n, nil
	}
	for {
		n, err := f.r.Read(p)
		j := 0
		for _, c := range p[:n] {
			switch {
			case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '+', c == '/', c == '=':
				p[j] = c
				j++
			}
		}
		f.n += j
		if err == io.EOF && f.n%4 >= 2 {
			f.pad = []byte("==")[:4-f.n%4]
			return j, nil
		}
		if err != nil || j > 0 {
			return j, err
		}
	}
}
