package mail

import "gent/daemon/metrics"

// tally is what one transaction stored, by direction, counted into the
// metrics only once it has committed: a batch that is rolled back and run
// again counts its messages once.
type tally struct {
	n, bytes, quarantined [2]int64 // [0] inbound, [1] outbound
}

var directions = [2]string{"inbound", "outbound"}

func dirIndex(d string) int {
	if d == directions[1] {
		return 1
	}
	return 0
}

func (t *tally) add(direction string, size int64, quarantined bool) {
	i := dirIndex(direction)
	t.n[i]++
	t.bytes[i] += size
	if quarantined {
		t.quarantined[i]++
	}
}

func (t *tally) publish(m *metrics.Metrics) {
	for i, d := range directions {
		m.Stored(d, t.n[i], t.bytes[i], t.quarantined[i])
	}
}

// countStored counts a stored message: into its batch's tally, or at
// once when it was stored in a transaction of the caller's (a draft, a
// local delivery), which commits right after in those callers.
func (s *Service) countStored(in StoreInput, size int64, quarantined bool) {
	if in.tally != nil {
		in.tally.add(in.Direction, size, quarantined)
		return
	}
	var t tally
	t.add(in.Direction, size, quarantined)
	t.publish(s.metrics)
}
