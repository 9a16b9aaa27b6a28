-- +goose Up
-- The first-contact lookup (daemon/policy, firstContactSQL) compares
-- addresses case-blind: a send keeps the recipient as written
-- ("Ann@Example.net"), a later send may write it otherwise. The index of
-- delivered recipients is per inbox on lower(address), so the lookup is an
-- index probe per recipient (no join to the sends, no scan of the
-- organization's deliveries to that address).
CREATE INDEX delivery_recipients_delivered_lower_idx ON delivery_recipients (inbox_id, lower(address)) WHERE status = 'delivered';
DROP INDEX delivery_recipients_delivered_idx;

-- +goose Down
CREATE INDEX delivery_recipients_delivered_idx ON delivery_recipients (org_id, address) WHERE status = 'delivered';
DROP INDEX delivery_recipients_delivered_lower_idx;
