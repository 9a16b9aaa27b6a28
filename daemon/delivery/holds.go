package delivery

import "gent/models"

// holdReasons lists why a send waits for a reviewer; none means it is
// queued. Every rule that can hold a send adds its reason here, so the
// answer (and a dry run) names all of them.
func (in SendInput) holdReasons() []models.HoldReason {
	reasons := []models.HoldReason{}
	if in.Held {
		reasons = append(reasons, models.HoldReason{Code: models.HoldTokenRequiresApproval,
			Detail: "this token's sends (email:send) need a reviewer's approval"})
	}
	return reasons
}
