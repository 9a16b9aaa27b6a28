package auth

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"

	"gent/daemon/audit"
	"gent/daemon/store"
	"gent/models"
)

// Managing users (DESIGN §12, docs/users.md). Every change that takes
// rights away — disabling, deleting, demoting, a password reset — revokes
// the user's sessions in the transaction that makes it. Sessions are read
// from the database on every request (authSession, which also refuses
// disabled users), so the end is immediate on every replica; no replica
// keeps a session cache to invalidate.
//
// Changes that could leave an organization without an enabled owner first
// lock the organization's owner rows (SELECT … FOR UPDATE, in id order),
// then read the target: two concurrent demotions of the last two owners
// are serialized, and the second finds a single owner left (409
// last_owner).

// Origin is where a request came from, for the audit trail.
type Origin struct {
	RemoteAddr string
	RequestID  string
}

const resetPrefix = "gpr_"

var roleRank = map[string]int{models.RoleReviewer: 1, models.RoleAdmin: 2, models.RoleOwner: 3}

func validRole(role string) error {
	if _, ok := roleRank[role]; !ok {
		return models.Invalid("role", "unknown role %q: want owner, admin or reviewer", role)
	}
	return nil
}

var errLastOwner = &models.Error{Code: models.CodeLastOwner,
	Message: "this is the organization's last enabled owner: make another user owner first"}

// userState is what the audit trail shows of a user before and after a
// change (never the password hash).
func userState(u models.User) map[string]any {
	return map[string]any{"email": u.Email, "role": u.Role, "disabled": u.Disabled}
}

// lockTarget locks the organization's owners, then the caller's and the
// target's rows (in id order, so that two users acting on each other do
// not deadlock), and reads them. It returns the target, the caller's role
// as it is now (not as it was when the request was authenticated: a
// caller demoted meanwhile acts with its new role), and how many enabled
// owners other than the target the organization has.
func lockTarget(tx *gorm.DB, p *Principal, userID string) (target models.User, actorRole string, others int, err error) {
	var owners []struct {
		ID       string
		Disabled bool
	}
	if err := tx.Raw(`SELECT id, disabled FROM users WHERE org_id = ? AND role = 'owner' ORDER BY id FOR UPDATE`, p.OrgID).
		Scan(&owners).Error; err != nil {
		return target, "", 0, fmt.Errorf("lock owners: %w", err)
	}
	var rows []models.User
	if err := tx.Raw(`SELECT * FROM users WHERE org_id = ? AND id IN (?, ?) ORDER BY id FOR UPDATE`, p.OrgID, p.UserID, userID).
		Scan(&rows).Error; err != nil {
		return target, "", 0, fmt.Errorf("load user: %w", err)
	}
	var actor models.User
	for _, r := range rows {
		if r.ID == userID {
			target = r
		}
		if r.ID == p.UserID {
			actor = r
		}
	}
	if actor.ID == "" || actor.Disabled {
		return target, "", 0, errBadCredential // deleted or disabled meanwhile
	}
	if target.ID == "" {
		return target, "", 0, models.NotFound("user")
	}
	for _, o := range owners {
		if o.ID != target.ID && !o.Disabled {
			others++
		}
	}
	return target, actor.Role, others, nil
}

// mayManage refuses a non-owner acting on an owner, and a reviewer acting
// on anyone.
func mayManage(actorRole string, target models.User) error {
	if actorRole == models.RoleReviewer {
		return models.Errorf(models.CodeForbidden, "your role (reviewer) may not manage users")
	}
	if target.Role == models.RoleOwner && actorRole != models.RoleOwner {
		return models.Errorf(models.CodeForbidden, "only an owner can change, disable, delete or reset an owner")
	}
	return nil
}

// endSessions revokes the user's live sessions but except (a session id,
// or ""), in tx; it returns how many it ended.
func endSessions(tx *gorm.DB, userID, except string) (int64, error) {
	res := tx.Exec(`UPDATE sessions SET revoked_at = now()
		WHERE user_id = ? AND id <> ? AND revoked_at IS NULL AND expires_at > now()`, userID, except)
	if res.Error != nil {
		return 0, fmt.Errorf("end sessions: %w", res.Error)
	}
	return res.RowsAffected, nil
}

func (s *Service) record(ctx context.Context, tx *gorm.DB, p *Principal, o Origin, action string, target string, status int, detail map[string]any) error {
	return s.audit.Record(ctx, tx, audit.Entry{OrgID: p.OrgID, ActorType: p.Kind, ActorID: p.ID(), Action: action,
		TargetType: "user", TargetID: target, Outcome: audit.Success, Status: status,
		RemoteAddr: o.RemoteAddr, RequestID: o.RequestID, Detail: detail})
}

// UpdateUser changes a user's role and/or disabled flag. Owners may change
// anyone; admins may change admins and reviewers, and may not make anyone
// an owner. Demoting or disabling ends the user's sessions.
func (s *Service) UpdateUser(ctx context.Context, p *Principal, id string, req models.UpdateUserRequest, o Origin) (*models.User, error) {
	if req.Role != nil {
		if err := validRole(*req.Role); err != nil {
			return nil, err
		}
		if *req.Role == models.RoleOwner && p.Role != models.RoleOwner {
			return nil, models.Errorf(models.CodeForbidden, "only an owner can make a user an owner")
		}
	}
	var out models.User
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		u, role, others, err := lockTarget(tx, p, id)
		if err != nil {
			return err
		}
		if err := mayManage(role, u); err != nil {
			return err
		}
		if req.Role != nil && *req.Role == models.RoleOwner && role != models.RoleOwner {
			return models.Errorf(models.CodeForbidden, "only an owner can make a user an owner")
		}
		after := u
		if req.Role != nil {
			after.Role = *req.Role
		}
		if req.Disabled != nil {
			after.Disabled = *req.Disabled
		}
		if after.Role == u.Role && after.Disabled == u.Disabled {
			out = u
			return nil
		}
		wasOwner := u.Role == models.RoleOwner && !u.Disabled
		isOwner := after.Role == models.RoleOwner && !after.Disabled
		if wasOwner && !isOwner && others == 0 {
			return errLastOwner
		}
		res := tx.Exec(`UPDATE users SET role = ?, disabled = ?, updated_at = now() WHERE id = ? AND org_id = ?`,
			after.Role, after.Disabled, u.ID, p.OrgID)
		if res.Error != nil {
			return fmt.Errorf("update user: %w", res.Error)
		}
		var ended int64
		if (after.Disabled && !u.Disabled) || roleRank[after.Role] < roleRank[u.Role] {
			if ended, err = endSessions(tx, u.ID, ""); err != nil {
				return err
			}
		}
		if err := tx.Take(&out, "id = ?", u.ID).Error; err != nil {
			return fmt.Errorf("reload user: %w", err)
		}
		return s.record(ctx, tx, p, o, "users.changed", u.ID, 200, map[string]any{
			"before": userState(u), "after": userState(out), "sessions_ended": ended})
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// DeleteUser removes a user and its sessions. Owners may delete anyone,
// admins admins and reviewers; any user may delete itself (leave the
// organization), except the last enabled owner.
func (s *Service) DeleteUser(ctx context.Context, p *Principal, id string, o Origin) error {
	if id != p.UserID && !p.HasRole(models.RoleOwner, models.RoleAdmin) {
		return models.Errorf(models.CodeForbidden, "your role (%s) may only delete your own account", p.Role)
	}
	return s.db.Tx(ctx, func(tx *gorm.DB) error {
		u, role, others, err := lockTarget(tx, p, id)
		if err != nil {
			return err
		}
		if u.ID != p.UserID {
			if err := mayManage(role, u); err != nil {
				return err
			}
		}
		if u.Role == models.RoleOwner && !u.Disabled && others == 0 {
			return errLastOwner
		}
		ended, err := endSessions(tx, u.ID, "")
		if err != nil {
			return err
		}
		if err := tx.Exec(`DELETE FROM users WHERE id = ? AND org_id = ?`, u.ID, p.OrgID).Error; err != nil {
			return store.WrapError(err, "user")
		}
		return s.record(ctx, tx, p, o, "users.deleted", u.ID, 204, map[string]any{
			"before": userState(u), "self": u.ID == p.UserID, "sessions_ended": ended})
	})
}

// IssuePasswordReset makes a one-time code with which the user sets a new
// password (POST /v1/auth/password-reset). The user's current password
// stops working and its sessions end at once; earlier unused codes are
// void. Only the code's SHA-256 is kept.
func (s *Service) IssuePasswordReset(ctx context.Context, p *Principal, id string, o Origin) (*models.PasswordResetCode, error) {
	code := resetPrefix + randomBase62(32)
	// A password nobody knows: the old one no longer signs in.
	locked, err := HashPassword(randomBase62(43))
	if err != nil {
		return nil, err
	}
	var out *models.PasswordResetCode
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		u, role, _, err := lockTarget(tx, p, id)
		if err != nil {
			return err
		}
		if err := mayManage(role, u); err != nil {
			return err
		}
		if err := tx.Exec(`DELETE FROM password_resets WHERE user_id = ? AND used_at IS NULL`, u.ID).Error; err != nil {
			return fmt.Errorf("void reset codes: %w", err)
		}
		expires := s.now().Add(s.cfg.PasswordResetTTL.D()).UTC().Truncate(time.Second)
		if err := tx.Exec(`INSERT INTO password_resets (id, org_id, user_id, code_hash, created_by, expires_at) VALUES (?, ?, ?, ?, ?, ?)`,
			models.NewID(models.PrefixPasswordReset), p.OrgID, u.ID, Hash(code), p.UserID, expires).Error; err != nil {
			return fmt.Errorf("store reset code: %w", err)
		}
		if err := tx.Exec(`UPDATE users SET password_hash = ?, updated_at = now() WHERE id = ?`, locked, u.ID).Error; err != nil {
			return fmt.Errorf("clear password: %w", err)
		}
		ended, err := endSessions(tx, u.ID, "")
		if err != nil {
			return err
		}
		out = &models.PasswordResetCode{UserID: u.ID, Code: code, ExpiresAt: expires}
		return s.record(ctx, tx, p, o, "users.password_reset_issued", u.ID, 201, map[string]any{
			"expires_at": expires, "sessions_ended": ended})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

var errBadResetCode = &models.Error{Code: models.CodeUnauthorized, Field: "code",
	Message: "the reset code is not valid, has expired or was already used"}

// ResetPassword sets a new password with a one-time code. Failures are
// throttled per remote address like logins (429 with Retry-After).
func (s *Service) ResetPassword(ctx context.Context, req models.ResetPasswordRequest, o Origin) error {
	code := strings.TrimSpace(req.Code)
	if code == "" {
		return models.Invalid("code", "code is required")
	}
	if err := checkPasswordField("new_password", req.NewPassword); err != nil {
		return err
	}
	key := "reset-ip:" + o.RemoteAddr
	if wait, err := s.lockedFor(ctx, []string{key}); err != nil {
		return err
	} else if wait > 0 {
		return &models.Error{Code: models.CodeRateLimited, Message: "too many failed password resets; try again later", RetryAfter: wait}
	}
	hash, err := HashPassword(req.NewPassword)
	if err != nil {
		return err
	}
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		var row struct {
			ID     string
			OrgID  string
			UserID string
		}
		// Used at most once: the row is claimed by this UPDATE.
		res := tx.Raw(`UPDATE password_resets SET used_at = now()
			WHERE code_hash = ? AND used_at IS NULL AND expires_at > now()
			RETURNING id, org_id, user_id`, Hash(code)).Scan(&row)
		if res.Error != nil {
			return fmt.Errorf("claim reset code: %w", res.Error)
		}
		if res.RowsAffected == 0 {
			return errBadResetCode
		}
		if err := tx.Exec(`UPDATE users SET password_hash = ?, updated_at = now() WHERE id = ? AND org_id = ?`,
			hash, row.UserID, row.OrgID).Error; err != nil {
			return fmt.Errorf("set password: %w", err)
		}
		ended, err := endSessions(tx, row.UserID, "")
		if err != nil {
			return err
		}
		// A user locked out by failed logins (the forgotten password)
		// may sign in with the new one at once.
		if err := tx.Exec(`DELETE FROM auth_throttle WHERE key = (SELECT 'email:' || lower(email) FROM users WHERE id = ?)`,
			row.UserID).Error; err != nil {
			return fmt.Errorf("reset throttle: %w", err)
		}
		return s.audit.Record(ctx, tx, audit.Entry{OrgID: row.OrgID, ActorType: "user", ActorID: row.UserID,
			Action: "auth.password_reset", TargetType: "user", TargetID: row.UserID, Outcome: audit.Success, Status: 204,
			RemoteAddr: o.RemoteAddr, RequestID: o.RequestID, Detail: map[string]any{"reset_id": row.ID, "sessions_ended": ended}})
	})
	if errors.Is(err, errBadResetCode) {
		s.countFailure(ctx, key, "", s.cfg.LoginMaxFailures*4)
		_ = s.audit.Record(ctx, nil, audit.Entry{ActorType: "anonymous", Action: "auth.password_reset", Outcome: audit.Failure,
			Status: 401, RemoteAddr: o.RemoteAddr, RequestID: o.RequestID, Detail: map[string]any{"code": models.CodeUnauthorized}})
	}
	return err
}

// ChangePassword sets the signed-in user's password after checking the
// current one. The user's other sessions end; the current one stays.
// Wrong current passwords count toward the login lockout of the email.
func (s *Service) ChangePassword(ctx context.Context, p *Principal, req models.ChangePasswordRequest, o Origin) error {
	if p.Kind != KindUser {
		return models.Errorf(models.CodeForbidden, "only users have passwords")
	}
	if req.CurrentPassword == "" {
		return models.Invalid("current_password", "current_password is required")
	}
	if err := checkPasswordField("new_password", req.NewPassword); err != nil {
		return err
	}
	key := "email:" + strings.ToLower(p.Email)
	if wait, err := s.lockedFor(ctx, []string{key}); err != nil {
		return err
	} else if wait > 0 {
		return &models.Error{Code: models.CodeRateLimited, Message: "too many failed password checks; try again later", RetryAfter: wait}
	}
	var u models.User
	if err := s.db.DB.WithContext(ctx).Take(&u, "id = ? AND org_id = ?", p.UserID, p.OrgID).Error; err != nil {
		return store.WrapError(err, "user")
	}
	ok, err := CheckPassword(u.PasswordHash, req.CurrentPassword)
	if err != nil {
		return err
	}
	if !ok {
		s.countFailure(ctx, key, p.OrgID, s.cfg.LoginMaxFailures)
		return &models.Error{Code: models.CodeForbidden, Field: "current_password", Message: "current_password is not correct"}
	}
	hash, err := HashPassword(req.NewPassword)
	if err != nil {
		return err
	}
	return s.db.Tx(ctx, func(tx *gorm.DB) error {
		// Only if the password is still the one just checked (a concurrent
		// change or reset wins).
		res := tx.Exec(`UPDATE users SET password_hash = ?, updated_at = now() WHERE id = ? AND org_id = ? AND password_hash = ?`,
			hash, u.ID, p.OrgID, u.PasswordHash)
		if res.Error != nil {
			return fmt.Errorf("set password: %w", res.Error)
		}
		if res.RowsAffected == 0 {
			return models.Errorf(models.CodeConflict, "the password was changed meanwhile; sign in again")
		}
		if err := tx.Exec(`DELETE FROM password_resets WHERE user_id = ? AND used_at IS NULL`, u.ID).Error; err != nil {
			return fmt.Errorf("void reset codes: %w", err)
		}
		if err := tx.Exec(`DELETE FROM auth_throttle WHERE key = ?`, key).Error; err != nil {
			return fmt.Errorf("reset throttle: %w", err)
		}
		ended, err := endSessions(tx, u.ID, p.SessionID)
		if err != nil {
			return err
		}
		return s.record(ctx, tx, p, o, "auth.password_changed", u.ID, 204, map[string]any{"sessions_ended": ended})
	})
}
