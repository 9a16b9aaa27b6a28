package store

import (
	"context"
	"encoding/json"

	"gorm.io/gorm"

	"gent/models"
)

// Claim is an Idempotency-Key held by the request running under it. The API
// puts it in the request's context; every transaction the request commits
// through Tx marks the key's row "effect committed" in that same
// transaction, and a service that knows its answer records it there with
// RecordResult. So a retry after a crash can tell whether the first
// request's effect committed (replay, never run again) or not (run again),
// with no window between the two.
//
// Owner fences the claim: a retry that takes over an abandoned key gives
// it a new owner, after which the old request's transactions fail with
// ErrClaimLost and roll back, so at most one of them ever commits.
type Claim struct {
	CredentialID string
	Key          string
	Owner        string
	// Status is the HTTP status the request answers when it succeeds; set
	// by the handler before it calls a service that records its result.
	Status int
}

type claimKey struct{}

// WithClaim returns ctx carrying c.
func WithClaim(ctx context.Context, c *Claim) context.Context {
	return context.WithValue(ctx, claimKey{}, c)
}

// ClaimOf returns the claim ctx carries, or nil.
func ClaimOf(ctx context.Context) *Claim {
	c, _ := ctx.Value(claimKey{}).(*Claim)
	return c
}

// ErrClaimLost ends a transaction whose Idempotency-Key a retry has taken
// over (its request was presumed dead): the retry's run is the one that
// counts.
var ErrClaimLost = models.Errorf(models.CodeConflict, "this Idempotency-Key was taken over by a retry of the request")

// mark records in tx that the claim's request committed an effect.
func (c *Claim) mark(tx *gorm.DB) error {
	res := tx.Exec(`UPDATE idempotency_keys SET effect_committed = true
		WHERE credential_id = ? AND key = ? AND owner = ?`, c.CredentialID, c.Key, c.Owner)
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return ErrClaimLost
	}
	return nil
}

// RecordResult records in tx, for the claim ctx carries (if any, and if
// its handler set Status), the response v that a retry of the request is
// to replay: the JSON the handler answers with. It commits with the effect
// or not at all.
func RecordResult(ctx context.Context, tx *gorm.DB, v any) error {
	c := ClaimOf(ctx)
	if c == nil || c.Status == 0 {
		return nil
	}
	body, err := json.Marshal(v)
	if err != nil {
		return err
	}
	res := tx.Exec(`UPDATE idempotency_keys SET effect_committed = true, status = ?, content_type = 'application/json', response = ?
		WHERE credential_id = ? AND key = ? AND owner = ?`, c.Status, body, c.CredentialID, c.Key, c.Owner)
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return ErrClaimLost
	}
	return nil
}
