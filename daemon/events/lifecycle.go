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
	case models.EventMessageReceived:
		kind := StepReceived
		if r, _ := p["released"].(bool); r {
			kind = StepReleased
		}
		d := map[string]any{}
		if v, ok := p["screening"].(*models.Screening); ok && v != nil {
			d["verdict"], d["score"] = v.Verdict, v.Score
		}
		return []Step{{kind, d}}
	case models.EventMessageQuarantined:
		d := map[string]any{}
		if v, ok := p["screening"].(*models.Screening); ok && v != nil {
			d["verdict"], d["score"] = v.Verdict, v.Score
			codes := make([]string, 0, len(v.Findings))
			for _, f := range v.Findings {
				codes = append(codes, f.Code)
			}
			d["findings"] = codes
		}
		return []Step{{StepQuarantined, d}}
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
		attempt := pick("recipient", "response")
		attempt["outcome"] = kind
		return []Step{{StepAttempt, attempt}, {kind, pick("recipient", "response")}}
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
