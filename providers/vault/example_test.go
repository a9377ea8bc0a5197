package vault_test

import (
	"context"
	"log"

	"github.com/hashicorp/vault/api"

	"github.com/kmsenc/kmsenc/providers/vault"
)

// An application that configures its own Vault client passes it to New; key
// URLs in the schema file (hashivault://app?mount=transit) build one from
// VAULT_ADDR and VAULT_TOKEN.
func ExampleNew() {
	ctx := context.Background()
	client, err := api.NewClient(api.DefaultConfig())
	if err != nil {
		log.Fatal(err)
	}
	p := vault.New(client, "app", vault.WithMount("transit"))
	wrapped, err := p.Encrypt(ctx, make([]byte, 32), map[string]string{"table": "users", "id": "123"})
	if err != nil {
		log.Fatal(err) // a *providers.Error: errors.Is(err, providers.ErrAccessDenied), ...
	}
	_ = wrapped // "vault:v1:..."
}
