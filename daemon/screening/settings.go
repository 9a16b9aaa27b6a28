package screening

import (
	"context"
	"fmt"

	"gorm.io/gorm"
)

// Settings are an inbox's screening settings: the score at or above
// which its mail is quarantined, and whether mail failing authentication
// is quarantined whatever its score. They live in the inbox_screening
// table (one row per inbox, none: the defaults) until the inbox policy
// object carries them; LoadSettings and SaveSettings are the only readers
// and writers, for the policy code to call.
type Settings struct {
	QuarantineAt        int  `json:"quarantine_at"`
	HideUnauthenticated bool `json:"hide_unauthenticated"`
}

// DefaultSettings apply to an inbox without settings of its own.
var DefaultSettings = Settings{QuarantineAt: DefaultQuarantineAt}

// LoadSettings reads an inbox's settings inside db (a transaction or the
// pool).
func LoadSettings(ctx context.Context, db *gorm.DB, inboxID string) (Settings, error) {
	var rows []Settings
	if err := db.WithContext(ctx).Raw(`SELECT quarantine_at, hide_unauthenticated FROM inbox_screening WHERE inbox_id = ?`,
		inboxID).Scan(&rows).Error; err != nil {
		return Settings{}, fmt.Errorf("read screening settings: %w", err)
	}
	if len(rows) == 0 {
		return DefaultSettings, nil
	}
	return rows[0], nil
}

// SaveSettings sets an inbox's settings (quarantine_at 1–101).
func SaveSettings(ctx context.Context, db *gorm.DB, orgID, inboxID string, s Settings) error {
	err := db.WithContext(ctx).Exec(`INSERT INTO inbox_screening (inbox_id, org_id, quarantine_at, hide_unauthenticated)
		VALUES (?, ?, ?, ?) ON CONFLICT (inbox_id) DO UPDATE SET quarantine_at = EXCLUDED.quarantine_at,
		hide_unauthenticated = EXCLUDED.hide_unauthenticated`, inboxID, orgID, s.QuarantineAt, s.HideUnauthenticated).Error
	if err != nil {
		return fmt.Errorf("save screening settings: %w", err)
	}
	return nil
}
