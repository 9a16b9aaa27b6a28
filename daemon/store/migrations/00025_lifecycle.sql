-- +goose Up
-- A message's lifecycle (docs/policy.md, Lifecycle): one append-only row
-- per step, written in the transaction of the step itself — the send's
-- policy decision, the hold, the reviewer's decision, the queueing, each
-- delivery attempt with the remote reply, arrival, quarantine and
-- release. Rows are never updated; they go with their message.
CREATE TABLE message_lifecycle (
    id         bigserial PRIMARY KEY,
    org_id     text NOT NULL,
    inbox_id   text NOT NULL,
    message_id text NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    kind       text NOT NULL,
    detail     jsonb NOT NULL DEFAULT '{}',
    at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX message_lifecycle_message_idx ON message_lifecycle (message_id, id);

-- Messages stored before this table get their steps from what was
-- recorded then: arrival or the send itself, and the events of their
-- approvals and deliveries still in the event log.
INSERT INTO message_lifecycle (org_id, inbox_id, message_id, kind, detail, at)
SELECT org_id, inbox_id, id, CASE direction WHEN 'inbound' THEN 'received' ELSE 'policy' END,
       CASE direction WHEN 'inbound' THEN '{}'::jsonb ELSE '{"backfilled": true}'::jsonb END, created_at
FROM messages
ORDER BY created_at, id;

INSERT INTO message_lifecycle (org_id, inbox_id, message_id, kind, detail, at)
SELECT m.org_id, m.inbox_id, m.id,
       CASE e.type
           WHEN 'approval.requested' THEN 'held'
           WHEN 'message.approved' THEN 'approved'
           WHEN 'message.rejected' THEN 'rejected'
           WHEN 'message.expired' THEN 'expired'
           WHEN 'message.sent' THEN 'queued'
           WHEN 'message.delivered' THEN 'delivered'
           WHEN 'message.deferred' THEN 'deferred'
           WHEN 'message.bounced' THEN 'bounced'
       END,
       e.payload - 'message_id', e.created_at
FROM events e
JOIN messages m ON m.id = e.payload->>'message_id' AND m.org_id = e.org_id
WHERE e.type IN ('approval.requested', 'message.approved', 'message.rejected', 'message.expired',
                 'message.sent', 'message.delivered', 'message.deferred', 'message.bounced')
ORDER BY e.created_at, e.id;

-- +goose Down
DROP TABLE message_lifecycle;
