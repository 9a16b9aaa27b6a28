package models

import "time"

// InboxPolicy is an inbox's sending policy (GET/PUT /v1/inboxes/{id}/policy).
type InboxPolicy struct {
	FirstContact  string           `json:"first_contact"`
	Recipients    PolicyRecipients `json:"recipients"`
	Budget        PolicyBudget     `json:"budget"`
	LoopGuard     bool             `json:"loop_guard"`
	SendingPaused bool             `json:"sending_paused"`
	Screening     PolicyScreening  `json:"screening"`
	// AutoSubmitted adds "Auto-Submitted: auto-generated" to the inbox's
	// outbound mail (docs/policy.md has the trade-off).
	AutoSubmitted bool       `json:"auto_submitted"`
	UpdatedAt     *time.Time `json:"updated_at,omitempty"`
}

// PolicyRecipients are the allow and block lists of a policy.
type PolicyRecipients struct {
	Allow        []string `json:"allow"`
	Block        []string `json:"block"`
	OutsideAllow string   `json:"outside_allow"`
}

// PolicyBudget limits the recipients an inbox sends to per rolling hour and day.
type PolicyBudget struct {
	PerHour  *int   `json:"per_hour"`
	PerDay   *int   `json:"per_day"`
	OnExceed string `json:"on_exceed"`
}

// PolicyScreening is the inbound screening part of a policy.
type PolicyScreening struct {
	QuarantineAt        int  `json:"quarantine_at"`
	HideUnauthenticated bool `json:"hide_unauthenticated"`
}

// DefaultInboxPolicy is the policy of an inbox nobody has set one for.
func DefaultInboxPolicy() InboxPolicy {
	return InboxPolicy{FirstContact: "allow",
		Recipients: PolicyRecipients{Allow: []string{}, Block: []string{}, OutsideAllow: "hold"},
		Budget:     PolicyBudget{OnExceed: "refuse"}, LoopGuard: true,
		Screening: PolicyScreening{QuarantineAt: 70}}
}

// OrgPolicy is the organization's policy (PUT /v1/policy).
type OrgPolicy struct {
	SendingPaused bool       `json:"sending_paused"`
	Block         []string   `json:"block"`
	UpdatedAt     *time.Time `json:"updated_at,omitempty"`
}

// Hold reason codes.
const (
	HoldTokenRequiresApproval = "token_requires_approval"
	HoldFirstContact          = "first_contact"
	HoldOutsideAllow          = "outside_allow"
	HoldBudget                = "budget"
	HoldLoopRisk              = "loop_risk"
	HoldSecretDetected        = "secret_detected"
)

// HoldReason is why a send was held.
type HoldReason struct {
	Code   string `json:"code"`
	Detail string `json:"detail"`
}

// Dry-run decisions.
const (
	DecisionSend   = "send"
	DecisionHold   = "hold"
	DecisionRefuse = "refuse"
)

// DryRunResult answers ?dry_run=true on the send routes.
type DryRunResult struct {
	Decision    string       `json:"decision"`
	HoldReasons []HoldReason `json:"hold_reasons"`
	Error       *Error       `json:"error"`
}

// LifecycleEntry is one step of a message's lifecycle.
type LifecycleEntry struct {
	At     time.Time      `json:"at"`
	Kind   string         `json:"kind"`
	Detail map[string]any `json:"detail"`
}
