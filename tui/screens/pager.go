package screens

import "github.com/charmbracelet/bubbles/key"

// pager follows a list's keyset cursors a page at a time, newest first:
// older goes on with the next_cursor of the page shown, newer goes back
// to the cursor that loaded the page before. A reload (an event, r, back
// on the screen) loads the page shown again with its own cursor, so the
// rows do not shift under the reader while new ones arrive on page 1.
type pager struct {
	cursors []string // cursors[i] loads page i; cursors[0] is ""
	page    int
	next    string // the next_cursor of the page shown ("" on the last)
	size    int    // rows a page holds
	// top is set by a page change: the next page shown selects its
	// first row.
	top bool
}

func newPager(size int) pager { return pager{cursors: []string{""}, size: size} }

// cursor loads the page shown.
func (p *pager) cursor() string { return p.cursors[p.page] }

// shown records a page that arrived: its rows and next_cursor. It
// reports back when the page is empty but not the first (what it held
// was released, deleted or sent meanwhile): the caller loads the page
// before it, which newer has selected.
func (p *pager) shown(rows int, next string) (back bool) {
	p.next = next
	if rows == 0 && p.page > 0 {
		p.page--
		p.top = true
		return true
	}
	return false
}

// older moves to the next page; false on the last page.
func (p *pager) older() bool {
	if p.next == "" {
		return false
	}
	p.cursors = append(p.cursors[:p.page+1], p.next)
	p.page++
	p.top = true
	return true
}

// newer moves to the page before; false on the first.
func (p *pager) newer() bool {
	if p.page == 0 {
		return false
	}
	p.page--
	p.top = true
	return true
}

// turn moves a page older (or newer) for a list whose page has loaded
// and is not loading again; false when it cannot move. The caller then
// loads the page turned to.
func (p *pager) turn(older, loaded, busy bool) bool {
	if !loaded || busy {
		return false
	}
	if older {
		return p.older()
	}
	return p.newer()
}

// reset goes back to the first page (another status, another filter).
func (p *pager) reset() {
	p.cursors, p.page, p.next, p.top = []string{""}, 0, "", true
}

// paged reports whether there is more than the page shown.
func (p *pager) paged() bool { return p.page > 0 || p.next != "" }

// takeTop reports (once) whether the page shown came from a page change.
func (p *pager) takeTop() bool {
	t := p.top
	p.top = false
	return t
}

// where is the paging part of a summary line: which keys go to another
// page. older and newer are the keys' names.
func (p *pager) where(older, newer string) string {
	s := ""
	if p.next != "" {
		s += " · older: " + older
	}
	if p.page > 0 {
		s += " · newer: " + newer
	}
	return s
}

// pageHelp is one help entry for a pair of paging keys, offered while
// the list is paged.
func pageHelp(older, newer key.Binding) key.Binding {
	o, n := older.Help().Key, newer.Help().Key
	return key.NewBinding(key.WithKeys(append(older.Keys(), newer.Keys()...)...), key.WithHelp(o+"/"+n, "older/newer"))
}
