package gcpkms_test

import (
	"context"
	"log"
	"log/slog"

	kms "cloud.google.com/go/kms/apiv1"
	"google.golang.org/api/option"

	"github.com/kmsenc/kmsenc/providers/gcpkms"
)

// An application that configures its own Cloud KMS client passes it to New,
// with a logger that never logs requests: they hold data keys.
func ExampleNew() {
	ctx := context.Background()
	client, err := kms.NewKeyManagementClient(ctx, option.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
	p := gcpkms.New(client, "projects/p/locations/global/keyRings/r/cryptoKeys/k")
	wrapped, err := p.Encrypt(ctx, make([]byte, 32), map[string]string{"table": "users", "id": "123"})
	if err != nil {
		log.Fatal(err) // a *providers.Error: errors.Is(err, providers.ErrAccessDenied), ...
	}
	_ = wrapped
}
