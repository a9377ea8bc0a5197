package schema

import (
	"entgo.io/ent"
	"entgo.io/ent/dialect/entsql"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
)

// Visit holds an encrypted note (text) and fee (int) beside plain columns,
// and belongs to a Patient.
type Visit struct {
	ent.Schema
}

// Annotations names the table.
func (Visit) Annotations() []schema.Annotation {
	return []schema.Annotation{entsql.Annotation{Table: "ent_visits"}}
}

// Fields of the Visit.
func (Visit) Fields() []ent.Field {
	return []ent.Field{
		field.String("kind"), // plain
		field.Int("patient_id").Optional(),
		field.String("note").SchemaType(ciphertext),
		field.Int64("fee").Optional().SchemaType(ciphertext),
	}
}

// Edges of the Visit.
func (Visit) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("patient", Patient.Type).Ref("visits").Unique().Field("patient_id"),
	}
}
