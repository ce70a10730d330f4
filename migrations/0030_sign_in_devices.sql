-- Failed sign-ins are counted per account, address and device together: a browser that
-- signed in to the account before (a signed device cookie) is limited by its own
-- failures only, so a stranger's guesses cannot lock the owner out of their own device.
-- `device` is a SHA-256 of the cookie's random device id; NULL for an unknown device.
ALTER TABLE sign_in_failures ADD COLUMN device bytea;
CREATE INDEX sign_in_failures_device ON sign_in_failures (account_key, device, failed_at DESC)
    WHERE device IS NOT NULL;
