-- name: CreateAuthor :execlastid
INSERT INTO sqlc_authors (name, bio, born, royalty) VALUES (?, ?, ?, ?);

-- name: GetAuthor :one
SELECT id, name, bio, born, royalty FROM sqlc_authors WHERE id = ?;

-- name: ListAuthors :many
SELECT id, name, bio, born, royalty FROM sqlc_authors ORDER BY name;

-- name: ListAuthorsByName :many
SELECT id, name, bio, born, royalty FROM sqlc_authors WHERE name LIKE ? ORDER BY id;

-- name: CountAuthorsWithBio :one
SELECT count(bio) FROM sqlc_authors WHERE born IS NOT NULL;

-- name: UpdateAuthorBio :exec
UPDATE sqlc_authors SET bio = ?, royalty = ? WHERE id = ?;

-- name: UpdateAuthor :exec
UPDATE sqlc_authors SET name = ?, bio = ?, born = ?, royalty = ? WHERE id = ?;

-- name: RenameAuthors :execrows
UPDATE sqlc_authors SET name = ? WHERE name = ?;

-- name: UpsertAuthor :exec
INSERT INTO sqlc_authors (id, name, bio, born, royalty) VALUES (?, ?, ?, ?, ?)
ON DUPLICATE KEY UPDATE name = VALUES(name), bio = VALUES(bio), born = VALUES(born), royalty = VALUES(royalty);

-- name: DeleteAuthor :execrows
DELETE FROM sqlc_authors WHERE id = ?;

-- name: CreateBook :execlastid
INSERT INTO sqlc_books (author_id, title, price) VALUES (?, ?, ?);

-- name: ListBooksByAuthor :many
SELECT b.id, b.title, b.price, a.name, a.bio
FROM sqlc_books b JOIN sqlc_authors a ON a.id = b.author_id
WHERE a.id = ?
ORDER BY b.id;

-- The queries below are refused by kmsenc (TestSQLCRefused).

-- name: FindAuthorsByBio :many
SELECT id, name FROM sqlc_authors WHERE bio = ?;

-- name: ListAuthorsByBirthday :many
SELECT id, name, born FROM sqlc_authors ORDER BY born;

-- name: SetBioByName :execrows
UPDATE sqlc_authors SET bio = ? WHERE name = ?;

-- name: RaiseRoyalty :exec
UPDATE sqlc_authors SET royalty = royalty + ? WHERE id = ?;

-- name: UpsertAuthorBio :exec
INSERT INTO sqlc_authors (id, name, bio) VALUES (?, ?, ?)
ON DUPLICATE KEY UPDATE bio = VALUES(bio);

-- name: CopyAuthor :exec
INSERT INTO sqlc_authors (name, bio, born, royalty)
SELECT name, bio, born, royalty FROM sqlc_authors WHERE sqlc_authors.id = ?;
