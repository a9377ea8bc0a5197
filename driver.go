package kmsenc

import (
	"context"
	"database/sql/driver"

	"github.com/kmsenc/kmsenc/internal/dialect"
)

// sqlDriver is the database/sql driver of one dialect. Its OpenConnector
// reads the kmsenc_config DSN parameter (or KMSENC_CONFIG) and opens the base
// driver with the rest of the DSN.
type sqlDriver struct {
	dialect *dialect.Dialect
}

var (
	_ driver.Driver        = (*sqlDriver)(nil)
	_ driver.DriverContext = (*sqlDriver)(nil)
)

// NewDriver returns the database/sql driver of a dialect, for the dialect
// packages to register (kmsenc/postgres registers "kmsenc+postgres",
// kmsenc/mysql "kmsenc+mysql"). Applications import one of those instead.
func NewDriver(d *dialect.Dialect) driver.Driver { return &sqlDriver{dialect: d} }

// Open opens one connection. database/sql uses OpenConnector instead.
func (d *sqlDriver) Open(dsn string) (driver.Conn, error) {
	c, err := d.OpenConnector(dsn)
	if err != nil {
		return nil, err
	}
	return c.Connect(context.Background())
}

// OpenConnector parses the DSN, loads the schema file and opens the base
// driver's connector.
func (d *sqlDriver) OpenConnector(dsn string) (driver.Connector, error) {
	clean, path, err := d.dialect.SplitDSN(dsn)
	if err != nil {
		return nil, err
	}
	if path, err = configPath(path); err != nil {
		return nil, err
	}
	cfg, err := LoadConfig(path)
	if err != nil {
		return nil, err
	}
	base, err := d.dialect.OpenBase(clean)
	if err != nil {
		return nil, err
	}
	c, err := NewConnector(base, d.dialect, cfg)
	if err != nil {
		return nil, err
	}
	c.drv = d
	return c, nil
}
