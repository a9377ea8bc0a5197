package kmsenc

import (
	"fmt"
	"os"

	"github.com/kmsenc/kmsenc/schema"
)

// Config is a loaded schema file: the master key, the cache settings and the
// tables with encrypted columns. See the README for the file format.
type Config = schema.Config

// ConfigEnv names the environment variable read for the schema file's path
// when the DSN has no kmsenc_config parameter.
const ConfigEnv = "KMSENC_CONFIG"

// ConfigParam is the DSN parameter that names the schema file. kmsenc removes
// it before the base driver sees the DSN.
const ConfigParam = "kmsenc_config"

// LoadConfig reads and validates the schema file at path.
func LoadConfig(path string) (*Config, error) { return schema.Load(path) }

// ParseConfig validates a schema file held in memory.
func ParseConfig(data []byte) (*Config, error) { return schema.Parse(data, "") }

// configPath picks the schema file: the DSN's parameter, else $KMSENC_CONFIG.
// With neither there is no silent plaintext mode: opening fails.
func configPath(fromDSN string) (string, error) {
	if fromDSN != "" {
		return fromDSN, nil
	}
	if p := os.Getenv(ConfigEnv); p != "" {
		return p, nil
	}
	return "", fmt.Errorf("%w: no schema file: add %s=<path> to the DSN or set %s", ErrConfig, ConfigParam, ConfigEnv)
}
