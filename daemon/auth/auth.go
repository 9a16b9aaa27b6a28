// Package auth holds users, sessions, agent tokens, scopes and roles:
// first-run setup, login with throttling, and turning a bearer credential
// into a Principal.
package auth

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"gent/daemon/audit"
	"gent/daemon/config"
	"gent/daemon/ratelimit"
	"gent/daemon/store"
	"gent/models"
)

const sessionPrefix = "gses_"

type Service struct {
	db      *store.Store
	audit   *audit.Service
	cfg     config.Auth
	dataDir string
	log     *slog.Logger
	now     func() time.Time
	// onSetup runs in the setup transaction once the organization exists
	// (the sandbox domain is made there).
	onSetup func(ctx context.Context, tx *gorm.DB, org models.Org) error
}

// OnSetup registers fn to run inside the setup transaction, after the
// organization and its owner are created; its error fails the setup.
func (s *Service) OnSetup(fn func(ctx context.Context, tx *gorm.DB, org models.Org) error) {
	s.onSetup = fn
}

func NewService(db *store.Store, au *audit.Service, cfg config.Auth, dataDir string, log *slog.Logger) *Service {
	return &Service{db: db, audit: au, cfg: cfg, dataDir: dataDir, log: log, now: time.Now}
}

// SetupRequired reports whether no organization exists yet.
func (s *Service) SetupRequired(ctx context.Context) (bool, error) {
	var n int64
	if err := s.db.DB.WithContext(ctx).Model(&models.Org{}).Limit(1).Count(&n).Error; err != nil {
		return false, fmt.Errorf("count organizations: %w", err)
	}
	return n == 0, nil
}

// PrepareSetup issues a fresh one-time setup code when no organization
// exists, writes it to data_dir/setup-code and returns it ("" when setup is
// done).
func (s *Service) PrepareSetup(ctx context.Context) (string, error) {
	need, err := s.SetupRequired(ctx)
	if err != nil {
		return "", err
	}
	path := filepath.Join(s.dataDir, "setup-code")
	if !need {
		_ = os.Remove(path)
		return "", nil
	}
	code := strings.ToUpper(randomBase62(6) + "-" + randomBase62(6))
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		return tx.Exec(`INSERT INTO setup_codes (id, code_hash, created_at) VALUES (1, ?, now())
			ON CONFLICT (id) DO UPDATE SET code_hash = EXCLUDED.code_hash, created_at = now()`, Hash(code)).Error
	})
	if err != nil {
		return "", fmt.Errorf("store setup code: %w", err)
	}
	if err := os.MkdirAll(s.dataDir, 0o755); err == nil {
		if err := os.WriteFile(path, []byte(code+"\n"), 0o600); err != nil {
			s.log.Warn("could not write setup-code file", "path", path, "err", err)
		}
	}
	return code, nil
}

// Setup creates the organization and its owner, once, and signs the owner in.
func (s *Service) Setup(ctx context.Context, req models.SetupRequest, remote string) (*models.SessionResponse, error) {
	if strings.TrimSpace(req.SetupCode) == "" {
		return nil, models.Invalid("setup_code", "setup_code is required")
	}
	orgName := strings.TrimSpace(req.OrgName)
	if orgName == "" || len(orgName) > 200 {
		return nil, models.Invalid("org_name", "org_name is required (at most 200 characters)")
	}
	email, err := normalizeEmail(req.Email)
	if err != nil {
		return nil, err
	}
	if err := checkPassword(req.Password); err != nil {
		return nil, err
	}
	hash, err := HashPassword(req.Password)
	if err != nil {
		return nil, err
	}
	var resp *models.SessionResponse
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		var row struct{ CodeHash []byte }
		res := tx.Raw(`SELECT code_hash FROM setup_codes WHERE id = 1 FOR UPDATE`).Scan(&row)
		if res.Error != nil {
			return fmt.Errorf("read setup code: %w", res.Error)
		}
		var orgs int64
		if err := tx.Model(&models.Org{}).Count(&orgs).Error; err != nil {
			return fmt.Errorf("count organizations: %w", err)
		}
		if orgs > 0 || res.RowsAffected == 0 {
			return models.Errorf(models.CodeConflict, "setup has already been completed; sign in instead")
		}
		code := strings.ToUpper(strings.TrimSpace(req.SetupCode))
		if subtle.ConstantTimeCompare(row.CodeHash, Hash(code)) != 1 {
			return &models.Error{Code: models.CodeUnauthorized, Message: "the setup code is not valid", Field: "setup_code"}
		}
		org := models.Org{ID: models.NewID(models.PrefixOrg), Name: orgName}
		if err := tx.Create(&org).Error; err != nil {
			return fmt.Errorf("create organization: %w", err)
		}
		user := models.User{ID: models.NewID(models.PrefixUser), OrgID: org.ID, Email: email, PasswordHash: hash, Role: models.RoleOwner}
		if err := tx.Create(&user).Error; err != nil {
			return store.WrapError(err, "user")
		}
		if s.onSetup != nil {
			if err := s.onSetup(ctx, tx, org); err != nil {
				return err
			}
		}
		if err := tx.Exec(`DELETE FROM setup_codes`).Error; err != nil {
			return fmt.Errorf("consume setup code: %w", err)
		}
		r, err := s.newSession(tx, user, org, remote)
		if err != nil {
			return err
		}
		resp = r
		return nil
	})
	if err != nil {
		return nil, err
	}
	_ = os.Remove(filepath.Join(s.dataDir, "setup-code"))
	return resp, nil
}

func (s *Service) newSession(tx *gorm.DB, user models.User, org models.Org, remote string) (*models.SessionResponse, error) {
	raw := sessionPrefix + randomBase62(43)
	sess := models.Session{
		ID: models.NewID(models.PrefixSession), OrgID: user.OrgID, UserID: user.ID, TokenHash: Hash(raw),
		RemoteAddr: remote, ExpiresAt: s.now().Add(s.cfg.SessionTTL.D()).UTC(),
	}
	if err := tx.Create(&sess).Error; err != nil {
		return nil, fmt.Errorf("create session: %w", err)
	}
	return &models.SessionResponse{Token: raw, ExpiresAt: sess.ExpiresAt, User: user, Org: org}, nil
}

var errBadLogin = &models.Error{Code: models.CodeUnauthorized, Message: "email or password is not correct"}

var errUserDisabled = &models.Error{Code: models.CodeUserDisabled, Message: "this account is disabled; ask an owner or admin of your organization to enable it"}

// dummyHash is checked when the email is unknown so that timing does not
// reveal which addresses have accounts.
var dummyHash, _ = HashPassword("gent-dummy-password")

// Login checks the password and opens a session. Repeated failures for an
// email or from an address are throttled (429 with Retry-After).
func (s *Service) Login(ctx context.Context, req models.LoginRequest, remote string) (*models.SessionResponse, error) {
	email := strings.ToLower(strings.TrimSpace(req.Email))
	if email == "" {
		return nil, models.Invalid("email", "email is required")
	}
	if req.Password == "" {
		return nil, models.Invalid("password", "password is required")
	}
	keys := []string{"email:" + email, "ip:" + remote}
	if wait, err := s.lockedFor(ctx, keys); err != nil {
		return nil, err
	} else if wait > 0 {
		return nil, &models.Error{Code: models.CodeRateLimited, Message: "too many failed sign-in attempts; try again later", RetryAfter: wait}
	}
	var user models.User
	err := s.db.DB.WithContext(ctx).Where("lower(email) = ?", email).Take(&user).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		_, _ = CheckPassword(dummyHash, req.Password)
		s.fail(ctx, keys, "", email, remote)
		return nil, errBadLogin
	} else if err != nil {
		return nil, fmt.Errorf("find user: %w", err)
	}
	ok, err := CheckPassword(user.PasswordHash, req.Password)
	if err != nil {
		return nil, err
	}
	if !ok {
		s.fail(ctx, keys, user.OrgID, email, remote)
		return nil, errBadLogin
	}
	if user.Disabled {
		// Said only to whoever knows the password, so it reveals nothing
		// to a guesser; not counted as a failure.
		_ = s.audit.Record(ctx, nil, audit.Entry{OrgID: user.OrgID, ActorType: "anonymous", ActorID: email, Action: "auth.login",
			TargetType: "user", TargetID: user.ID, Outcome: audit.Denied, Status: 403, RemoteAddr: remote,
			Detail: map[string]any{"code": models.CodeUserDisabled}})
		return nil, errUserDisabled
	}
	var resp *models.SessionResponse
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		var org models.Org
		if err := tx.Take(&org, "id = ?", user.OrgID).Error; err != nil {
			return fmt.Errorf("load organization: %w", err)
		}
		if err := tx.Exec(`DELETE FROM auth_throttle WHERE key = ?`, keys[0]).Error; err != nil {
			return fmt.Errorf("reset throttle: %w", err)
		}
		r, err := s.newSession(tx, user, org, remote)
		resp = r
		return err
	})
	return resp, err
}

func (s *Service) lockedFor(ctx context.Context, keys []string) (time.Duration, error) {
	var until []time.Time
	err := s.db.DB.WithContext(ctx).Raw(`SELECT locked_until FROM auth_throttle WHERE key IN ? AND locked_until > now()`, keys).Scan(&until).Error
	if err != nil {
		return 0, fmt.Errorf("check throttle: %w", err)
	}
	var wait time.Duration
	for _, u := range until {
		if d := time.Until(u); d > wait {
			wait = d
		}
	}
	return wait, nil
}

// fail counts a failed login against each key; the count restarts when the
// first failure is older than the lockout window.
func (s *Service) fail(ctx context.Context, keys []string, orgID, email, remote string) {
	max := s.cfg.LoginMaxFailures
	for i, k := range keys {
		limit := max
		if i == 1 {
			limit = max * 4 // an address may serve several users
		}
		s.countFailure(ctx, k, orgID, limit)
	}
	_ = s.audit.Record(ctx, nil, audit.Entry{OrgID: orgID, ActorType: "anonymous", ActorID: email, Action: "auth.login",
		Outcome: audit.Failure, Status: 401, RemoteAddr: remote})
}

// countFailure counts a failed attempt against key and locks it for
// auth.login_lockout once it reaches limit within that window.
func (s *Service) countFailure(ctx context.Context, key, orgID string, limit int) {
	window := s.cfg.LoginLockout.D()
	err := s.db.DB.WithContext(ctx).Exec(`
		INSERT INTO auth_throttle (key, org_id, failures, first_failure_at) VALUES (?, NULLIF(?, ''), 1, now())
		ON CONFLICT (key) DO UPDATE SET
			failures = CASE WHEN auth_throttle.first_failure_at < now() - make_interval(secs => ?) THEN 1 ELSE auth_throttle.failures + 1 END,
			first_failure_at = CASE WHEN auth_throttle.first_failure_at < now() - make_interval(secs => ?) THEN now() ELSE auth_throttle.first_failure_at END`,
		key, orgID, window.Seconds(), window.Seconds()).Error
	if err == nil {
		err = s.db.DB.WithContext(ctx).Exec(`UPDATE auth_throttle SET locked_until = now() + make_interval(secs => ?)
			WHERE key = ? AND failures >= ?`, window.Seconds(), key, limit).Error
	}
	if err != nil {
		s.log.Error("record failed attempt", "key", key, "err", err)
	}
}

// Logout revokes the session.
func (s *Service) Logout(ctx context.Context, p *Principal) error {
	if p.Kind != KindUser {
		return models.Errorf(models.CodeForbidden, "only sessions can log out; revoke tokens with DELETE /v1/tokens/{id}")
	}
	err := s.db.DB.WithContext(ctx).Model(&models.Session{}).
		Where("id = ? AND org_id = ?", p.SessionID, p.OrgID).Update("revoked_at", s.now().UTC()).Error
	if err != nil {
		return fmt.Errorf("revoke session: %w", err)
	}
	return nil
}

var errBadCredential = &models.Error{Code: models.CodeUnauthorized, Message: "missing, invalid, expired or revoked credential"}

// Authenticate turns a bearer credential into a Principal. Every call reads
// the database, so revocation takes effect on the next request on every
// replica.
func (s *Service) Authenticate(ctx context.Context, bearer string) (*Principal, error) {
	switch {
	case strings.HasPrefix(bearer, sessionPrefix):
		return s.authSession(ctx, bearer)
	case strings.HasPrefix(bearer, TokenPrefix):
		return s.authToken(ctx, bearer)
	}
	return nil, errBadCredential
}

// AuthenticateLimited is Authenticate that, for an agent token, also
// spends lim on the token's shared rate limit (key "http:" + token id) in
// the statement that finds the token, saving the limit's own round trip.
// limited tells whether it did; wait is then how long the caller must
// wait (0: go on). For a session, or with no limit, limited is false and
// the caller takes the limit itself.
func (s *Service) AuthenticateLimited(ctx context.Context, bearer string, lim ratelimit.Spend) (p *Principal, wait time.Duration, limited bool, err error) {
	if strings.HasPrefix(bearer, TokenPrefix) {
		return s.authTokenLimited(ctx, bearer, lim)
	}
	p, err = s.Authenticate(ctx, bearer)
	return p, 0, false, err
}

func (s *Service) authSession(ctx context.Context, raw string) (*Principal, error) {
	if len(raw) != len(sessionPrefix)+43 {
		return nil, errBadCredential
	}
	var row struct {
		SessionID  string
		OrgID      string
		UserID     string
		Email      string
		Role       string
		LastSeenAt *time.Time
	}
	res := s.db.DB.WithContext(ctx).Raw(`
		SELECT s.id AS session_id, s.org_id, u.id AS user_id, u.email, u.role, s.last_seen_at
		FROM sessions s JOIN users u ON u.id = s.user_id
		WHERE s.token_hash = ? AND s.revoked_at IS NULL AND s.expires_at > now() AND NOT u.disabled`, Hash(raw)).Scan(&row)
	if res.Error != nil {
		return nil, fmt.Errorf("look up session: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return nil, errBadCredential
	}
	if row.LastSeenAt == nil || time.Since(*row.LastSeenAt) > time.Minute {
		_ = s.db.DB.WithContext(ctx).Exec(`UPDATE sessions SET last_seen_at = now() WHERE id = ?`, row.SessionID).Error
	}
	return &Principal{Kind: KindUser, OrgID: row.OrgID, UserID: row.UserID, Email: row.Email, Role: row.Role, SessionID: row.SessionID}, nil
}

// Me returns the signed-in user and organization.
func (s *Service) Me(ctx context.Context, p *Principal) (*models.Me, error) {
	var me models.Me
	if err := s.db.DB.WithContext(ctx).Take(&me.User, "id = ? AND org_id = ?", p.UserID, p.OrgID).Error; err != nil {
		return nil, store.WrapError(err, "user")
	}
	if err := s.db.DB.WithContext(ctx).Take(&me.Org, "id = ?", p.OrgID).Error; err != nil {
		return nil, store.WrapError(err, "organization")
	}
	return &me, nil
}

// CreateUser adds a user to the caller's organization. Owners may create
// any role; admins may create admins and reviewers.
func (s *Service) CreateUser(ctx context.Context, p *Principal, req models.CreateUserRequest) (*models.User, error) {
	email, err := normalizeEmail(req.Email)
	if err != nil {
		return nil, err
	}
	switch req.Role {
	case models.RoleOwner, models.RoleAdmin, models.RoleReviewer:
	case "":
		return nil, models.Invalid("role", "role is required: owner, admin or reviewer")
	default:
		return nil, models.Invalid("role", "unknown role %q: want owner, admin or reviewer", req.Role)
	}
	if req.Role == models.RoleOwner && p.Role != models.RoleOwner {
		return nil, models.Errorf(models.CodeForbidden, "only an owner can create another owner")
	}
	if err := checkPassword(req.Password); err != nil {
		return nil, err
	}
	hash, err := HashPassword(req.Password)
	if err != nil {
		return nil, err
	}
	u := models.User{ID: models.NewID(models.PrefixUser), OrgID: p.OrgID, Email: email, PasswordHash: hash, Role: req.Role}
	if err := s.db.DB.WithContext(ctx).Create(&u).Error; err != nil {
		if store.IsUniqueViolation(err) {
			return nil, &models.Error{Code: models.CodeConflict, Message: "a user with this email already exists", Field: "email"}
		}
		return nil, fmt.Errorf("create user: %w", err)
	}
	return &u, nil
}

// ListUsers returns a page of the organization's users, by id.
func (s *Service) ListUsers(ctx context.Context, orgID, cursor string, limit int) ([]models.User, string, error) {
	q := s.db.DB.WithContext(ctx).Where("org_id = ?", orgID)
	if cursor != "" {
		q = q.Where("id > ?", cursor)
	}
	var users []models.User
	if err := q.Order(clause.OrderByColumn{Column: clause.Column{Name: "id"}}).Limit(limit + 1).Find(&users).Error; err != nil {
		return nil, "", fmt.Errorf("list users: %w", err)
	}
	next := ""
	if len(users) > limit {
		users = users[:limit]
		next = users[limit-1].ID
	}
	return users, next, nil
}

func normalizeEmail(raw string) (string, error) {
	e := strings.TrimSpace(raw)
	if e == "" {
		return "", models.Invalid("email", "email is required")
	}
	a, err := mail.ParseAddress(e)
	if err != nil || a.Address != e || !strings.Contains(e, "@") || len(e) > 254 {
		return "", models.Invalid("email", "not a valid email address: %q", raw)
	}
	return strings.ToLower(e), nil
}

func checkPassword(pw string) error { return checkPasswordField("password", pw) }

func checkPasswordField(field, pw string) error {
	if len(pw) < 10 {
		return models.Invalid(field, "%s must be at least 10 characters", field)
	}
	if len(pw) > 1024 {
		return models.Invalid(field, "%s must be at most 1024 characters", field)
	}
	return nil
}
