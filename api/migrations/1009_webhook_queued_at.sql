-- When a delivery was queued: the webhook queue's age, for the API's metrics.
ALTER TABLE webhook_deliveries ADD COLUMN queued_at TIMESTAMPTZ NOT NULL DEFAULT now();
