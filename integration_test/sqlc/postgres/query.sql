-- name: CreateAuthor :one
INSERT INTO sqlc_authors (name, bio, born, royalty) VALUES ($1, $2, $3, $4)
RETURNING id, name, bio, born, royalty;

-- name: GetAuthor :one
SELECT id, name, bio, born, royalty FROM sqlc_authors WHERE id = $1;

-- name: ListAuthors :many
SELECT id, name, bio, born, royalty FROM sqlc_authors ORDER BY name;

-- name: ListAuthorsByName :many
SELECT id, name, bio, born, royalty FROM sqlc_authors WHERE name LIKE $1 ORDER BY id;

-- name: CountAuthorsWithBio :one
SELECT count(bio) FROM sqlc_authors WHERE born IS NOT NULL;

-- name: UpdateAuthorBio :exec
UPDATE sqlc_authors SET bio = $2, royalty = $3 WHERE id = $1;

-- name: UpdateAuthor :one
UPDATE sqlc_authors SET name = $2, bio = $3, born = $4, royalty = $5 WHERE id = $1
RETURNING id, name, bio, born, royalty;

-- name: RenameAuthors :execrows
UPDATE sqlc_authors SET name = $2 WHERE name = $1;

-- name: UpsertAuthor :one
INSERT INTO sqlc_authors (id, name, bio, born, royalty) VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, bio = EXCLUDED.bio, born = EXCLUDED.born, royalty = EXCLUDED.royalty
RETURNING id, name, bio, born, royalty;

-- name: DeleteAuthor :one
DELETE FROM sqlc_authors WHERE id = $1 RETURNING bio;

-- name: CreateBook :one
INSERT INTO sqlc_books (author_id, title, price) VALUES ($1, $2, $3) RETURNING id;

-- name: ListBooksByAuthor :many
SELECT b.id, b.title, b.price, a.name, a.bio
FROM sqlc_books b JOIN sqlc_authors a ON a.id = b.author_id
WHERE a.id = $1
ORDER BY b.id;

-- The queries below are refused by kmsenc (TestSQLCRefused).

-- name: FindAuthorsByBio :many
SELECT id, name FROM sqlc_authors WHERE bio = $1;

-- name: ListAuthorsByBirthday :many
SELECT id, name, born FROM sqlc_authors ORDER BY born;

-- name: SetBioByName :execrows
UPDATE sqlc_authors SET bio = $1 WHERE name = $2;

-- name: RaiseRoyalty :exec
UPDATE sqlc_authors SET royalty = royalty + $2 WHERE id = $1;

-- name: UpsertAuthorBio :exec
INSERT INTO sqlc_authors (id, name, bio) VALUES ($1, $2, $3)
ON CONFLICT (id) DO UPDATE SET bio = EXCLUDED.bio;

-- name: CopyAuthor :exec
INSERT INTO sqlc_authors (name, bio, born, royalty)
SELECT name, bio, born, royalty FROM sqlc_authors WHERE sqlc_authors.id = $1;
