package kmsenc

import (
	"errors"
	"testing"
)

func TestConfigPathRequired(t *testing.T) {
	t.Setenv(ConfigEnv, "")
	if _, err := configPath(""); !errors.Is(err, ErrConfig) {
		t.Errorf("no DSN parameter and no %s: err = %v, want ErrConfig", ConfigEnv, err)
	}
	t.Setenv(ConfigEnv, "/from/env.yaml")
	if p, _ := configPath(""); p != "/from/env.yaml" {
		t.Errorf("configPath from env = %q", p)
	}
	if p, _ := configPath("/from/dsn.yaml"); p != "/from/dsn.yaml" {
		t.Errorf("the DSN parameter must win over the environment: %q", p)
	}
}
