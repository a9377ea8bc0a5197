package gcpkms

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"path"
	"strings"

	kms "cloud.google.com/go/kms/apiv1"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/kmsenc/kmsenc/providers"
)

// open is the [providers.Opener] of gcpkms:// URLs.
func open(ctx context.Context, u *url.URL) (providers.Provider, error) {
	if u.Opaque != "" || u.User != nil {
		return nil, errors.New("gcpkms: a key URL is gcpkms://projects/<project>/locations/<location>/keyRings/<key ring>/cryptoKeys/<key>, without credentials")
	}
	name := strings.TrimPrefix(path.Join(u.Host, u.Path), "/")
	if err := checkName(name); err != nil {
		return nil, err
	}
	// The library must never log requests: they hold data keys.
	opts := []option.ClientOption{option.WithLogger(slog.New(slog.DiscardHandler))}
	for param, values := range u.Query() {
		if param != "endpoint" {
			return nil, fmt.Errorf("gcpkms: unknown parameter %q in a gcpkms:// URL; the only parameter is endpoint=<host:port>", param)
		}
		if len(values) != 1 {
			return nil, errors.New("gcpkms: the endpoint parameter takes one value")
		}
		endpointOpts, err := endpointOptions(values[0])
		if err != nil {
			return nil, err
		}
		opts = append(opts, endpointOpts...)
	}
	client, err := kms.NewKeyManagementClient(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("gcpkms: creating the Cloud KMS client for %s (credentials come from Application Default Credentials: GOOGLE_APPLICATION_CREDENTIALS, gcloud auth application-default login, or the metadata server): %w", name, err)
	}
	p := New(client, name)
	p.ownsClient = true
	return p, nil
}

// endpointOptions points the client at host:port: over TLS with credentials,
// or, on a loopback address, in plaintext without credentials, as emulators
// and test servers are reached.
func endpointOptions(endpoint string) ([]option.ClientOption, error) {
	host, port, err := net.SplitHostPort(endpoint)
	if err != nil || host == "" || port == "" {
		return nil, errors.New("gcpkms: the endpoint parameter is host:port, e.g. endpoint=127.0.0.1:9010 for a local test server")
	}
	opts := []option.ClientOption{option.WithEndpoint(endpoint)}
	if ip := net.ParseIP(host); host == "localhost" || ip != nil && ip.IsLoopback() {
		opts = append(opts,
			option.WithoutAuthentication(),
			option.WithGRPCDialOption(grpc.WithTransportCredentials(insecure.NewCredentials())))
	}
	return opts, nil
}
