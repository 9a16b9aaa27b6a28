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

-- A secret is shown once and never stored raw: the replays of token
-- creations and rotations and of webhook creations kept the raw token or
-- signing secret. Rewrite them as the daemon now stores them (the object,
-- the secret null, secret_shown_once and a note).
UPDATE idempotency_keys
SET response = convert_to((convert_from(response, 'UTF8')::jsonb || jsonb_build_object('token', NULL,
        'secret_shown_once', true, 'note', 'the secret was shown once, in the first response to this request, and is not kept: it cannot be shown again'))::text, 'UTF8')
WHERE method = 'POST' AND path ~ '^/v1/tokens(/[^/]+/rotate)?/?$'
  AND status BETWEEN 200 AND 299 AND response IS NOT NULL AND content_type LIKE 'application/json%';

UPDATE idempotency_keys
SET response = convert_to((convert_from(response, 'UTF8')::jsonb || jsonb_build_object('secret', NULL,
        'secret_shown_once', true, 'note', 'the secret was shown once, in the first response to this request, and is not kept: it cannot be shown again'))::text, 'UTF8')
WHERE method = 'POST' AND path ~ '^/v1/webhooks/?$'
  AND status BETWEEN 200 AND 299 AND response IS NOT NULL AND content_type LIKE 'application/json%';

-- +goose Down
ALTER TABLE idempotency_keys
    DROP COLUMN owner,
    DROP COLUMN lease_until,
    DROP COLUMN effect_committed;
