package awskms_test

import (
	"context"
	"log"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/kmsenc/kmsenc/providers/awskms"
)

// An application that configures its own AWS client passes it to New; key
// URLs in the schema file build one from the SDK's default configuration.
func ExampleNew() {
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion("us-east-1"))
	if err != nil {
		log.Fatal(err)
	}
	p := awskms.New(kms.NewFromConfig(cfg), "alias/app")
	wrapped, err := p.Encrypt(ctx, make([]byte, 32), map[string]string{"table": "users", "id": "123"})
	if err != nil {
		log.Fatal(err) // a *providers.Error: errors.Is(err, providers.ErrAccessDenied), ...
	}
	_ = wrapped
}
