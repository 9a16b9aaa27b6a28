package api

import (
	"context"
	"time"

	"github.com/gofiber/fiber/v2"

	"gent/daemon/audit"
	"gent/daemon/auth"
	"gent/models"
)

func (a *API) healthz(c *fiber.Ctx) error {
	return c.JSON(fiber.Map{"status": "ok"})
}

func (a *API) readyz(c *fiber.Ctx) error {
	ctx, cancel := context.WithTimeout(c.UserContext(), 2*time.Second)
	defer cancel()
	if err := a.Store.Ping(ctx); err != nil {
		return &models.Error{Code: models.CodeUnavailable, Message: "database unreachable", RetryAfter: unavailableRetryAfter}
	}
	return c.JSON(fiber.Map{"status": "ready"})
}

func (a *API) authStatus(c *fiber.Ctx) error {
	need, err := a.Auth.SetupRequired(c.UserContext())
	if err != nil {
		return err
	}
	return c.JSON(models.AuthStatus{SetupRequired: need})
}

func (a *API) setup(c *fiber.Ctx) error {
	var req models.SetupRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	resp, err := a.Auth.Setup(c.UserContext(), req, clientIP(c))
	e := audit.Entry{ActorType: "anonymous", Action: "auth.setup", RemoteAddr: clientIP(c), RequestID: requestID(c), Outcome: audit.Success, Status: 201}
	if err != nil {
		e.Outcome, e.Detail = audit.Failure, map[string]any{"code": models.ErrorCode(err)}
		_ = a.Audit.Record(c.UserContext(), nil, e)
		return err
	}
	e.OrgID, e.ActorType, e.ActorID, e.TargetType, e.TargetID = resp.Org.ID, "user", resp.User.ID, "org", resp.Org.ID
	if err := a.Audit.Record(c.UserContext(), nil, e); err != nil {
		a.Log.Error("audit setup", "err", err)
	}
	return c.Status(fiber.StatusCreated).JSON(resp)
}

func (a *API) login(c *fiber.Ctx) error {
	var req models.LoginRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	resp, err := a.Auth.Login(c.UserContext(), req, clientIP(c))
	if err != nil {
		return err // failures are audited by the service
	}
	if err := a.Audit.Record(c.UserContext(), nil, audit.Entry{OrgID: resp.Org.ID, ActorType: "user", ActorID: resp.User.ID,
		Action: "auth.login", Outcome: audit.Success, Status: 200, RemoteAddr: clientIP(c), RequestID: requestID(c)}); err != nil {
		a.Log.Error("audit login", "err", err)
	}
	return c.JSON(resp)
}

func (a *API) logout(c *fiber.Ctx) error {
	if err := a.Auth.Logout(c.UserContext(), principal(c)); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

func (a *API) me(c *fiber.Ctx) error {
	me, err := a.Auth.Me(c.UserContext(), principal(c))
	if err != nil {
		return err
	}
	return c.JSON(me)
}

func (a *API) listUsers(c *fiber.Ctx) error {
	cursor, limit, err := page(c, idCursor(models.PrefixUser))
	if err != nil {
		return err
	}
	users, next, err := a.Auth.ListUsers(c.UserContext(), principal(c).OrgID, cursor, limit)
	if err != nil {
		return err
	}
	return list(c, users, next)
}

func (a *API) createUser(c *fiber.Ctx) error {
	var req models.CreateUserRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	u, err := a.Auth.CreateUser(c.UserContext(), principal(c), req)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(u)
}

func authOrigin(c *fiber.Ctx) auth.Origin {
	return auth.Origin{RemoteAddr: clientIP(c), RequestID: requestID(c)}
}

func (a *API) updateUser(c *fiber.Ctx) error {
	var req models.UpdateUserRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	u, err := a.Auth.UpdateUser(c.UserContext(), principal(c), c.Params("id"), req, authOrigin(c))
	if err != nil {
		return err
	}
	return c.JSON(u)
}

func (a *API) deleteUser(c *fiber.Ctx) error {
	if err := a.Auth.DeleteUser(c.UserContext(), principal(c), c.Params("id"), authOrigin(c)); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

func (a *API) issuePasswordReset(c *fiber.Ctx) error {
	shownOnce(c, "code")
	r, err := a.Auth.IssuePasswordReset(c.UserContext(), principal(c), c.Params("id"), authOrigin(c))
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(r)
}

func (a *API) resetPassword(c *fiber.Ctx) error {
	var req models.ResetPasswordRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	if err := a.Auth.ResetPassword(c.UserContext(), req, authOrigin(c)); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

func (a *API) changePassword(c *fiber.Ctx) error {
	var req models.ChangePasswordRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	if err := a.Auth.ChangePassword(c.UserContext(), principal(c), req, authOrigin(c)); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

func (a *API) listAudit(c *fiber.Ctx) error {
	cursor, limit, err := page(c, idCursor(models.PrefixAudit))
	if err != nil {
		return err
	}
	f := audit.Filter{Action: c.Query("action"), ActorID: c.Query("actor_id"), ActorType: c.Query("actor_type"), TargetID: c.Query("target_id")}
	rows, next, err := a.Audit.List(c.UserContext(), principal(c).OrgID, f, cursor, limit)
	if err != nil {
		return err
	}
	return list(c, rows, next)
}
