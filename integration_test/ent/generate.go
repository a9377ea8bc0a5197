// Package ent is the generated ent client of kmsenc's ent integration tests
// (schema in ./schema). Regenerate with go generate ./ent from the
// integration_test module.
package ent

//go:generate go run -mod=mod entgo.io/ent/cmd/ent generate --feature sql/upsert ./schema
