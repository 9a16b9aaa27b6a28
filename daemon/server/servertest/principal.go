package servertest

import (
	"gent/daemon/auth"
	"gent/models"
)

func ownerOf(orgID string) *auth.Principal {
	return &auth.Principal{Kind: auth.KindUser, OrgID: orgID, Role: models.RoleOwner}
}
