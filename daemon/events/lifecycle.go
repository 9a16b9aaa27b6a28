package events

import (
	"context"
	"encoding/json"
	"fmt"

	"gorm.io/gorm"

	"gent/models"
)

// Lifecycle kinds (docs/policy.md, Lifecycle).
const (
	StepReceived    = "received"
	StepScreened    = "screened"
	StepQuarantined = "quarantined"
	StepReleased    = "released"
	StepPolicy      = "policy"
	StepHeld        = "held"
	StepApproved    = "approved"
	StepRejected    = "rejected"
	StepExpired     = "expired"
	StepQueued      = "queued"
	StepCaptured    = "captured"
	StepAttempt     = "attempt"
	StepDelivered   = "delivered"
	StepDeferred    = "deferred"
	StepBounced     = "bounced"
)

// Step is one row of a message's lifecycle.
type Step struct {
	Kind   string         `json:"kind"`
	Detail map[string]any `json:"detail"`
}

// lifecycleSteps maps an event about a message to the lifecycle steps it
// records: the event and its steps commit together (emit writes both in
// one statement). Events that are not a step of a message record none.
func lifecycleSteps(typ string, p map[string]any) []Step {
	pick := func(keys ...string) map[string]any {
		d := map[string]any{}
		for _, k := range keys {
			if v, ok := p[k]; ok && v != nil {
				d[k] = v
			}
		}
		return d
	}
	switch typ {
	case models.EventMessageReceived, models.EventMessageQuarantined:
		// Arrival: received, then the screening's verdict (every inbound
		// message is screened in the transaction that stores it), then
		// quarantined when the verdict says so. A release is one step.
		if r, _ := p["released"].(bool); r && typ == models.EventMessageReceived {
			d := map[string]any{}
			if v, ok := p["screening"].(*models.Screening); ok && v != nil {
				d["verdict"], d["score"] = v.Verdict, v.Score
			}
			return []Step{{StepReleased, d}}
		}
		steps := []Step{{StepReceived, pick("from", "size")}}
		if v, ok := p["screening"].(*models.Screening); ok && v != nil {
			codes := make([]string, 0, len(v.Findings))
			for _, f := range v.Findings {
				codes = append(codes, f.Code)
			}
			steps = append(steps, Step{StepScreened, map[string]any{"verdict": v.Verdict, "score": v.Score, "findings": codes}})
			if typ == models.EventMessageQuarantined {
				steps = append(steps, Step{StepQuarantined, map[string]any{"verdict": v.Verdict, "score": v.Score, "findings": codes}})
			}
		} else if typ == models.EventMessageQuarantined {
			steps = append(steps, Step{StepQuarantined, map[string]any{}})
		}
		return steps
	case models.EventApprovalRequested:
		return []Step{{StepHeld, pick("approval_id", "hold_reasons", "expires_at")}}
	case models.EventMessageApproved:
		d := pick("approval_id", "edited")
		d["by"] = p["reviewer"]
		return []Step{{StepApproved, d}}
	case models.EventMessageRejected:
		d := pick("approval_id", "reason")
		d["by"] = p["reviewer"]
		return []Step{{StepRejected, d}}
	case models.EventMessageExpired:
		return []Step{{StepExpired, pick("approval_id")}}
	case models.EventMessageSent:
		return []Step{{StepQueued, pick("recipients")}}
	case models.EventMessageCaptured:
		return []Step{{StepCaptured, pick("captured_id", "domain", "recipients")}}
	case models.EventMessageDelivered, models.EventMessageDeferred, models.EventMessageBounced:
		kind := map[string]string{models.EventMessageDelivered: StepDelivered, models.EventMessageDeferred: StepDeferred,
			models.EventMessageBounced: StepBounced}[typ]
		outcome := Step{kind, pick("recipient", "response")}
		if c, _ := p["cancelled"].(bool); c {
			// An operator cancelled the delivery: no attempt was made.
			outcome.Detail["cancelled"] = true
			return []Step{outcome}
		}
		attempt := pick("recipient", "response")
		attempt["outcome"] = kind
		return []Step{{StepAttempt, attempt}, outcome}
	}
	return nil
}

// RecordStep appends a step to a message's lifecycle inside tx, for steps
// that are not events (a send's policy decision).
func RecordStep(ctx context.Context, tx *gorm.DB, orgID, inboxID, messageID, kind string, detail map[string]any) error {
	if detail == nil {
		detail = map[string]any{}
	}
	b, err := json.Marshal(detail)
	if err != nil {
		return fmt.Errorf("record %s step: %w", kind, err)
	}
	if err := tx.WithContext(ctx).Exec(`INSERT INTO message_lifecycle (org_id, inbox_id, message_id, kind, detail)
		VALUES (?, ?, ?, ?, ?)`, orgID, inboxID, messageID, kind, string(b)).Error; err != nil {
		return fmt.Errorf("record %s step: %w", kind, err)
	}
	return nil
}
