-- +goose Up
-- The outbound queue as an object of its own (DESIGN §12, docs/queue.md):
-- every recipient row of a send gets an id (dlv_…, sortable by creation
-- like every other id), its inbox and its creation time, so that the
-- queue can be listed, filtered and paged by keyset, and a row can be
-- retried or cancelled by id.

-- +goose StatementBegin
-- gent_ulid returns a lower-case ULID (Crockford base32: 10 characters of
-- milliseconds since the epoch, 16 random ones) for the time ts, the
-- format models.NewID writes.
CREATE FUNCTION gent_ulid(ts timestamptz) RETURNS text LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    alphabet constant text := '0123456789abcdefghjkmnpqrstvwxyz';
    ms bigint := floor(extract(epoch FROM ts) * 1000);
    out text := '';
BEGIN
    FOR i IN 1..10 LOOP
        out := substr(alphabet, (ms % 32)::int + 1, 1) || out;
        ms := ms / 32;
    END LOOP;
    FOR i IN 1..16 LOOP
        out := out || substr(alphabet, floor(random() * 32)::int + 1, 1);
    END LOOP;
    RETURN out;
END
$$;
-- +goose StatementEnd

ALTER TABLE delivery_recipients
    ADD COLUMN id text,
    ADD COLUMN inbox_id text,
    ADD COLUMN created_at timestamptz NOT NULL DEFAULT now();

UPDATE delivery_recipients r SET id = 'dlv_' || gent_ulid(o.created_at), inbox_id = o.inbox_id, created_at = o.created_at,
    -- Recipients of held sends were "queued" though nothing was queued:
    -- they are "held" until approval, then queued; a rejected or expired
    -- send's recipients take its status.
    status = CASE WHEN o.status = 'pending_approval' THEN 'held'
                  WHEN o.status IN ('rejected', 'expired') THEN o.status
                  ELSE r.status END
FROM outbound_messages o WHERE o.id = r.outbound_id;

ALTER TABLE delivery_recipients
    ALTER COLUMN id SET DEFAULT 'dlv_' || gent_ulid(now()),
    ALTER COLUMN id SET NOT NULL,
    ALTER COLUMN inbox_id SET NOT NULL;

CREATE UNIQUE INDEX delivery_recipients_id_idx ON delivery_recipients (id);
-- GET /v1/deliveries/ pages newest first by id within the organization,
-- optionally by status, recipient domain or inbox (each its own index).
CREATE INDEX delivery_recipients_org_idx ON delivery_recipients (org_id, id);
CREATE INDEX delivery_recipients_domain_idx ON delivery_recipients (org_id, domain, id);
CREATE INDEX delivery_recipients_inbox_idx ON delivery_recipients (inbox_id, id);
-- Leading status: the status filter of the list (status, org_id, id), and
-- the queue depth of the metrics (a count by status over the queued and
-- deferred range of this one index, across organizations).
CREATE INDEX delivery_recipients_status_idx ON delivery_recipients (status, org_id, id);

-- Delivery pauses: no attempt to the domain (the recipient domain, exact)
-- for the organization's mail until "until" (NULL: until deleted).
CREATE TABLE delivery_pauses (
    id         text PRIMARY KEY,
    org_id     text NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    domain     text NOT NULL,
    reason     text NOT NULL DEFAULT '',
    until      timestamptz,
    created_by text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (org_id, domain)
);

-- +goose Down
DROP TABLE delivery_pauses;
DROP INDEX delivery_recipients_status_idx;
DROP INDEX delivery_recipients_inbox_idx;
DROP INDEX delivery_recipients_domain_idx;
DROP INDEX delivery_recipients_org_idx;
DROP INDEX delivery_recipients_id_idx;
UPDATE delivery_recipients SET status = 'queued' WHERE status IN ('held', 'rejected', 'expired');
UPDATE delivery_recipients SET status = 'bounced' WHERE status = 'cancelled';
ALTER TABLE delivery_recipients DROP COLUMN created_at, DROP COLUMN inbox_id, DROP COLUMN id;
DROP FUNCTION gent_ulid(timestamptz);
