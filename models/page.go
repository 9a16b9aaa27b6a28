package models

// DefaultLimit and MaxLimit bound a page of any list.
const (
	DefaultLimit = 50
	MaxLimit     = 200
)

// Page checks a list request, REST or MCP alike: limit 0 is the default,
// else 1 to MaxLimit; cursor is "" or a position that valid accepts (the
// next_cursor of the page before), so that a cursor from another list never
// reads as an empty page or as the first one.
func Page(limit int, cursor string, valid func(string) bool) (int, error) {
	switch {
	case limit == 0:
		limit = DefaultLimit
	case limit < 1 || limit > MaxLimit:
		return 0, Invalid("limit", "limit must be an integer from 1 to 200")
	}
	if cursor != "" && (len(cursor) > 400 || !valid(cursor)) {
		return 0, Invalid("cursor", "cursor is not valid: pass the next_cursor of the page before, unchanged")
	}
	return limit, nil
}

// IsID reports whether s is an id with prefix: the prefix, then lower-case
// letters and digits.
func IsID(s, prefix string) bool {
	if !HasPrefix(s, prefix) || len(s) == len(prefix) {
		return false
	}
	for _, r := range s[len(prefix):] {
		if !('0' <= r && r <= '9' || 'a' <= r && r <= 'z') {
			return false
		}
	}
	return true
}
