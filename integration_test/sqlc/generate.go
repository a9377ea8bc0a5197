// Package sqlc holds the sqlc configuration of kmsenc's sqlc integration
// tests; the generated code is in ./postgres (package sqlcpg) and ./mysql
// (package sqlcmysql).
package sqlc

//go:generate go run github.com/sqlc-dev/sqlc/cmd/sqlc@v1.31.1 generate
