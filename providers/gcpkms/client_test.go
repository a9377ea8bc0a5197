package gcpkms

import (
	"context"
	"testing"

	kms "cloud.google.com/go/kms/apiv1"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// The fake Cloud KMS these tests run against is gcpkmstest.Server.

// newClient is the real client, connected to addr as an application
// connects to an emulator.
func newClient(t *testing.T, addr string) *kms.KeyManagementClient {
	t.Helper()
	client, err := kms.NewKeyManagementClient(context.Background(),
		option.WithEndpoint(addr),
		option.WithoutAuthentication(),
		option.WithGRPCDialOption(grpc.WithTransportCredentials(insecure.NewCredentials())))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	return client
}
