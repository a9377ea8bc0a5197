// Package schema is the ent schema of kmsenc's ent integration tests. Its
// encrypted fields (declared in the tests' kmsenc schema file) are stored in
// text columns whatever their Go type: SchemaType says so, for ent's migrate.
package schema

import (
	"entgo.io/ent"
	"entgo.io/ent/dialect"
	"entgo.io/ent/dialect/entsql"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
)

// ciphertext is the column type of every encrypted field: kmsenc stores
// base64 ciphertext there, whatever the plaintext type.
var ciphertext = map[string]string{dialect.Postgres: "text", dialect.MySQL: "text"}

// Patient holds an encrypted email (text), birthday (date) and risk score
// (int) beside plain columns.
type Patient struct {
	ent.Schema
}

// Annotations names the table.
func (Patient) Annotations() []schema.Annotation {
	return []schema.Annotation{entsql.Annotation{Table: "ent_patients"}}
}

// Fields of the Patient.
func (Patient) Fields() []ent.Field {
	return []ent.Field{
		field.String("mrn").Unique(), // plain: the upsert's conflict target
		field.String("name"),         // plain
		field.String("email").Optional().Nillable().SchemaType(ciphertext),
		field.Time("birthday").Optional().Nillable().SchemaType(ciphertext),
		field.Int64("risk").Optional().Nillable().SchemaType(ciphertext),
	}
}

// Edges of the Patient.
func (Patient) Edges() []ent.Edge {
	return []ent.Edge{edge.To("visits", Visit.Type)}
}
