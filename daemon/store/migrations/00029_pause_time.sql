-- +goose Up
-- Time a delivery spends held by a delivery pause does not count toward
-- outbound.give_up_after (docs/queue.md): paused_since is when the
-- pause first held it, settled into paused_ms by the next attempt that
-- finds no pause; the give-up time is created_at + give_up_after +
-- paused_ms.
ALTER TABLE delivery_recipients ADD COLUMN paused_since timestamptz,
	ADD COLUMN paused_ms bigint NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE delivery_recipients DROP COLUMN paused_since, DROP COLUMN paused_ms;
