-- The refund keeper's query (keeper/src/due.rs) reads only what may be due: the pending
-- entitlements of a cancelled perk, and deliveries marked after their deadline.
CREATE INDEX entitlements_perk_state ON entitlements (release, perk, state);
CREATE INDEX entitlements_delivered_late ON entitlements (delivered_at)
    WHERE state = 'delivered' AND delivered_at > deadline;
