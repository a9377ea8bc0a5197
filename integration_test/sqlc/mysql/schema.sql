-- The tables as they are in the database. Encrypted columns are text (kmsenc
-- stores base64 ciphertext there); sqlc.yaml's overrides give them their
-- plaintext Go types. encrypted_kms_key is kmsenc's key column: no query
-- names it.
CREATE TABLE sqlc_authors (
  id                bigint AUTO_INCREMENT PRIMARY KEY,
  name              varchar(255) NOT NULL,
  bio               text,   -- encrypted: text
  born              text,   -- encrypted: date
  royalty           text,   -- encrypted: int
  encrypted_kms_key text
);

CREATE TABLE sqlc_books (
  id                bigint AUTO_INCREMENT PRIMARY KEY,
  author_id         bigint NOT NULL,
  title             text NOT NULL,  -- encrypted: text
  price             text NOT NULL,  -- encrypted: int
  encrypted_kms_key text,
  FOREIGN KEY (author_id) REFERENCES sqlc_authors (id) ON DELETE CASCADE
);
