package delivery

import (
	"errors"

	"gent/daemon/metrics"
	"gent/models"
)

// countDecision counts a send's outcome: queued, held (by its hold
// reasons) or refused (by the error code the caller got). Internal errors
// are failures, not decisions, and are not counted.
func (s *Service) countDecision(out *models.SendResponse, err error) {
	if s.metrics == nil {
		return
	}
	if err != nil {
		var me *models.Error
		if errors.As(err, &me) && me.Code != models.CodeInternal {
			s.metrics.SendDecision(metrics.DecisionRefused, me.Code, nil)
		}
		return
	}
	if out.Status != StatusPendingApproval {
		s.metrics.SendDecision(metrics.DecisionQueued, "", nil)
		return
	}
	reasons := make([]string, len(out.HoldReasons))
	for i, r := range out.HoldReasons {
		reasons[i] = r.Code
	}
	s.metrics.SendDecision(metrics.DecisionHeld, "", reasons)
}

// attemptPath names how a recipient's attempt was made, from the mx that
// recordTx is given.
func attemptPath(mx string) string {
	switch mx {
	case "local", "capture":
		return mx
	}
	return "remote"
}
