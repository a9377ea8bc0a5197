package schema

import (
	"strings"
	"testing"
)

func TestParseReviewed(t *testing.T) {
	c := mustParse(t, withTail(okKey, "reviewed: [audit_copy, Add_User]"))
	if !c.IsReviewed("AUDIT_COPY") || !c.IsReviewed("add_user") {
		t.Errorf("reviewed = %v; want audit_copy and add_user, any case", c.Reviewed)
	}
	if c.IsReviewed("users") || c.IsReviewed("audit") {
		t.Error("IsReviewed reports a name the file doesn't list")
	}
	if c := mustParse(t, withTail(okKey)); len(c.Reviewed) != 0 {
		t.Errorf("no reviewed: gives %v", c.Reviewed)
	}
}

func TestParseReviewedErrors(t *testing.T) {
	for _, tt := range []struct {
		name, src, field string
		line             int
		want             string
	}{
		{"not a list", withTail(okKey, "reviewed: audit_copy"), "reviewed", 2, "want a list"},
		{"empty name", withTail(okKey, "reviewed:", "  - ''"), "reviewed[0]", 3, "empty name"},
		{"twice", withTail(okKey, "reviewed:", "  - f", "  - F"), "reviewed[1]", 4, "listed twice (first as reviewed[0])"},
		{"a declared table", withTail(okKey, "reviewed: [Users]"), "reviewed[0]", 2, "is a table in tables:"},
		{"a mapping in the list", withTail(okKey, "reviewed:", "  - {name: f}"), "reviewed[0]", 3, "want a name"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.src), "kmsenc.yaml")
			fe := checkFieldError(t, err, tt.line, tt.field)
			if !strings.Contains(fe.Msg, tt.want) {
				t.Errorf("message %q doesn't contain %q", fe.Msg, tt.want)
			}
		})
	}
}

func TestWithRefused(t *testing.T) {
	c := mustParse(t, withTail(okKey))
	r := c.WithRefused(map[string]string{"User_Emails": "a view"})
	if c.HasRefused() || c.Refused("user_emails") != "" {
		t.Error("WithRefused changed the Config it was called on")
	}
	if !r.HasRefused() || r.Refused("USER_EMAILS") != "a view" || r.Refused("user_emails") != "a view" {
		t.Errorf("Refused(user_emails) = %q; want the reason, any case", r.Refused("user_emails"))
	}
	if r.Refused("users") != "" {
		t.Error("a name not given is refused")
	}
	if r.Table("users") != c.Table("users") || !r.Touches("email") {
		t.Error("the copy doesn't share the tables")
	}
}

func TestParseViewOf(t *testing.T) {
	c := mustParse(t, yml(okKey, "tables:", "  Patients:", "    context: {table: patients, id: $id}", "    columns: {email: text}",
		"  patient_view:", "    view_of: patients", "    context: {table: patients, id: $id}", "    columns: {email: text}",
		"  patient_names:", "    view_of: PATIENTS", "    columns: {email: text}"))
	v := c.Table("patient_view")
	if v.ViewOf != "patients" || v.Column("email").AssociatedData() != "Patients.email" {
		t.Errorf("view_of %q, associated data %q; want the table's, Patients.email", v.ViewOf, v.Column("email").AssociatedData())
	}
	if ctx := c.Table("patient_names").Context; len(ctx) != 1 || ctx[0].Value != "Patients" {
		t.Errorf("default context of a view = %+v; want {table: Patients}", ctx)
	}
}

func TestParseViewOfErrors(t *testing.T) {
	base := []string{okKey, "tables:", "  patients:", "    columns: {email: text}"}
	for _, tt := range []struct {
		name  string
		lines []string
		line  int
		field string
		want  string
	}{
		{"no such table", []string{"  v:", "    view_of: people", "    columns: {email: text}"}, 6, "tables.v.view_of", `"people" is not in tables:`},
		{"itself", []string{"  v:", "    view_of: v", "    columns: {email: text}"}, 6, "tables.v.view_of", "names the table itself"},
		{"a view of a view", []string{"  v:", "    view_of: patients", "    columns: {email: text}", "  w:", "    view_of: v", "    columns: {email: text}"}, 9, "tables.w.view_of", `is itself a view (of "patients")`},
		{"another column", []string{"  v:", "    view_of: patients", "    columns: {ssn: text}"}, 7, "tables.v.columns.ssn", "is not an encrypted column of patients"},
		{"another type", []string{"  v:", "    view_of: patients", "    columns: {email: bytes}"}, 7, "tables.v.columns.email", "is bytes here but text in patients"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(yml(append(append([]string{}, base...), tt.lines...)...)), "kmsenc.yaml")
			fe := checkFieldError(t, err, tt.line, tt.field)
			if !strings.Contains(fe.Msg, tt.want) {
				t.Errorf("message %q doesn't contain %q", fe.Msg, tt.want)
			}
		})
	}
}
