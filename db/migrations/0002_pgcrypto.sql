-- hmac() for keyed user-id pseudonyms computed inside COPY (anonymized programs).
CREATE EXTENSION IF NOT EXISTS pgcrypto;
