package models

import "time"

// BytesPerGB is the unit of limit_gb and of GB-hours: decimal gigabytes,
// 1 GB = 10^9 bytes (as storage is sold and billed).
const BytesPerGB = 1_000_000_000

// Cap modes.
const (
	CapEnforce      = "enforce"
	CapAllowAndBill = "allow_and_bill"
)

// Alert states.
const (
	AlertArmed = "armed"
	AlertFired = "fired"
)

// DefaultAlertThresholds are the thresholds of a cap set without any.
var DefaultAlertThresholds = []int{80, 95}

// SetCapRequest is the body of PUT /v1/billing/caps/mailbox/. It replaces
// the inbox's cap. AlertThresholds absent or null: [80, 95]; [] sets no
// alerts.
type SetCapRequest struct {
	InboxID         string   `json:"inbox_id"`
	LimitGB         *float64 `json:"limit_gb"`
	Mode            string   `json:"mode"`
	AlertThresholds []int    `json:"alert_thresholds"`
}

// Cap is an inbox's storage cap.
type Cap struct {
	LimitGB         float64   `json:"limit_gb"`
	LimitBytes      int64     `json:"limit_bytes"`
	Mode            string    `json:"mode"`
	AlertThresholds []int     `json:"alert_thresholds"`
	UpdatedAt       time.Time `json:"updated_at"`
}

// CapAlert is one alert threshold of a cap and its state: armed until
// usage reaches ThresholdBytes, then fired until usage falls below it.
type CapAlert struct {
	Threshold      int        `json:"threshold"`
	ThresholdBytes int64      `json:"threshold_bytes"`
	State          string     `json:"state"`
	FiredAt        *time.Time `json:"fired_at"`
}

// CapOverage is the billable overage of an inbox: bytes above the limit
// under allow_and_bill now, and the GB-hours of overage recorded since the
// start of the month (UTC).
type CapOverage struct {
	Bytes        int64     `json:"bytes"`
	MonthGBHours float64   `json:"month_gb_hours"`
	MonthStart   time.Time `json:"month_start"`
}

// MailboxCap is an inbox's usage and cap, as GET /v1/billing/caps/mailbox/
// shows it. Cap and Percent are null for an inbox without a cap.
type MailboxCap struct {
	InboxID      string     `json:"inbox_id"`
	Address      string     `json:"address"`
	Cap          *Cap       `json:"cap"`
	UsedBytes    int64      `json:"used_bytes"`
	MessageCount int64      `json:"message_count"`
	Percent      *float64   `json:"percent"`
	Alerts       []CapAlert `json:"alerts"`
	Overage      CapOverage `json:"overage"`
}

// UsageHour is one hourly usage record of an inbox.
type UsageHour struct {
	Hour            time.Time `json:"hour"`
	UsageGBHours    float64   `json:"usage_gb_hours"`
	OverageGBHours  float64   `json:"overage_gb_hours"`
	MaxUsedBytes    int64     `json:"max_used_bytes"`
	MaxOverageBytes int64     `json:"max_overage_bytes"`
	CoveredSeconds  float64   `json:"covered_seconds"`
	Samples         int       `json:"samples"`
	LimitBytes      *int64    `json:"limit_bytes"`
	Mode            string    `json:"mode"`
}

// InboxUsage sums an inbox's hourly records over a report's range.
type InboxUsage struct {
	InboxID        string      `json:"inbox_id"`
	Address        string      `json:"address"`
	UsageGBHours   float64     `json:"usage_gb_hours"`
	OverageGBHours float64     `json:"overage_gb_hours"`
	PeakBytes      int64       `json:"peak_bytes"`
	Hours          []UsageHour `json:"hours"`
}

// UsageReport is the answer of GET /v1/billing/usage/: one page of inboxes
// with records in [From, To).
type UsageReport struct {
	From       time.Time    `json:"from"`
	To         time.Time    `json:"to"`
	Data       []InboxUsage `json:"data"`
	NextCursor string       `json:"next_cursor"`
}

// UsageDrift is an inbox whose usage counters differ from its messages.
type UsageDrift struct {
	InboxID      string `json:"inbox_id"`
	OrgID        string `json:"org_id"`
	Address      string `json:"address"`
	Status       string `json:"status"`
	UsedBytes    int64  `json:"used_bytes"`
	ActualBytes  int64  `json:"actual_bytes"`
	MessageCount int64  `json:"message_count"`
	ActualCount  int64  `json:"actual_count"`
}

// UsageVerification is the result of recomputing usage from the messages.
type UsageVerification struct {
	CheckedAt time.Time    `json:"checked_at"`
	Inboxes   int          `json:"inboxes"`
	Drift     []UsageDrift `json:"drift"`
}
