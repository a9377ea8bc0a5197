package kmsenc

import (
	"context"
	"database/sql/driver"
)

// Driver is the database/sql driver of one dialect. Dialect packages register
// it; its OpenConnector reads the kmsenc_config DSN parameter (or
// KMSENC_CONFIG) and opens the base driver with the rest of the DSN.
type Driver struct {
	dialect *Dialect
}

var (
	_ driver.Driver        = (*Driver)(nil)
	_ driver.DriverContext = (*Driver)(nil)
)

// NewDriver returns the driver of a dialect. Dialect packages call it.
func NewDriver(d *Dialect) *Driver { return &Driver{dialect: d} }

// Open opens one connection. database/sql uses OpenConnector instead.
func (d *Driver) Open(dsn string) (driver.Conn, error) {
	c, err := d.OpenConnector(dsn)
	if err != nil {
		return nil, err
	}
	return c.Connect(context.Background())
}

// OpenConnector parses the DSN, loads the schema file and opens the base
// driver's connector.
func (d *Driver) OpenConnector(dsn string) (driver.Connector, error) {
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
