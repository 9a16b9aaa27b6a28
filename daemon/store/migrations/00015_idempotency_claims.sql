-- +goose Up
-- An Idempotency-Key in progress is held by its request under a lease that
-- the request renews while it runs, and fenced by owner; effect_committed
-- is set in the transaction of the request's effect. A retry of a key
-- whose lease expired (its daemon died) replays the outcome if the effect
-- committed and runs the request again otherwise. Keys left in progress by
-- an older daemon carry no such mark: their lease is expired at once, and
-- a retry runs them again.
ALTER TABLE idempotency_keys
    ADD COLUMN owner            text NOT NULL DEFAULT '',
    ADD COLUMN lease_until      timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN effect_committed boolean NOT NULL DEFAULT false;

-- +goose Down
ALTER TABLE idempotency_keys
    DROP COLUMN owner,
    DROP COLUMN lease_until,
    DROP COLUMN effect_committed;
