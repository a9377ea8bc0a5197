-- The tables as they are in the database. Encrypted columns are text (kmsenc
-- stores base64 ciphertext there); sqlc.yaml's overrides give them their
-- plaintext Go types. encrypted_kms_key is kmsenc's key column: no query
-- names it.
CREATE TABLE sqlc_authors (
  id                bigserial PRIMARY KEY,
  name              text NOT NULL,
  bio               text,   -- encrypted: text
  born              text,   -- encrypted: date
  royalty           text,   -- encrypted: int
  encrypted_kms_key text
);

CREATE TABLE sqlc_books (
  id                bigserial PRIMARY KEY,
  author_id         bigint NOT NULL REFERENCES sqlc_authors (id) ON DELETE CASCADE,
  title             text NOT NULL,  -- encrypted: text
  price             text NOT NULL,  -- encrypted: int
  encrypted_kms_key text
);
