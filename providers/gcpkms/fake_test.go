package gcpkms

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"net"
	"sync"
	"testing"

	kms "cloud.google.com/go/kms/apiv1"
	"cloud.google.com/go/kms/apiv1/kmspb"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

const testKey = "projects/p/locations/global/keyRings/r/cryptoKeys/k"

// fakeKMS is Cloud KMS's Encrypt and Decrypt for one CryptoKey, over real
// gRPC: AES-256-GCM with the additional authenticated data, request
// checksums verified and response checksums computed as Google documents
// them. Switches make it fail; it records every request.
type fakeKMS struct {
	kmspb.UnimplementedKeyManagementServiceServer
	aead cipher.AEAD

	mu       sync.Mutex
	encrypts []*kmspb.EncryptRequest
	decrypts []*kmspb.DecryptRequest
	revoked  bool       // PERMISSION_DENIED, as when the IAM binding is removed
	fail     codes.Code // when not OK, every call fails with this code
	tamper   func(proto.Message)
}

func newFakeKMS(t *testing.T) *fakeKMS {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	aead, err := cipher.NewGCMWithRandomNonce(block)
	if err != nil {
		t.Fatal(err)
	}
	return &fakeKMS{aead: aead}
}

// set changes the switches under the lock: the server reads them from its
// own goroutines.
func (f *fakeKMS) set(change func(f *fakeKMS)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	change(f)
}

func (f *fakeKMS) calls() (encrypts, decrypts int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.encrypts), len(f.decrypts)
}

func (f *fakeKMS) refuse(name, permission string) error {
	switch {
	case f.revoked:
		return status.Errorf(codes.PermissionDenied, "Permission '%s' denied on resource '%s' (or it may not exist).", permission, name)
	case f.fail != codes.OK:
		return status.Errorf(f.fail, "fake failure %s", f.fail)
	case name != testKey:
		return status.Errorf(codes.NotFound, "CryptoKey %s not found.", name)
	}
	return nil
}

func checksumMismatch(field string) error {
	return status.Errorf(codes.InvalidArgument, "The checksum in field %s did not match the data in field %s.", field+"_crc32c", field)
}

func (f *fakeKMS) Encrypt(_ context.Context, req *kmspb.EncryptRequest) (*kmspb.EncryptResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.encrypts = append(f.encrypts, proto.Clone(req).(*kmspb.EncryptRequest))
	if err := f.refuse(req.Name, "cloudkms.cryptoKeyVersions.useToEncrypt"); err != nil {
		return nil, err
	}
	if c := req.PlaintextCrc32C; c != nil && c.Value != crc32c(req.Plaintext) {
		return nil, checksumMismatch("plaintext")
	}
	if c := req.AdditionalAuthenticatedDataCrc32C; c != nil && c.Value != crc32c(req.AdditionalAuthenticatedData) {
		return nil, checksumMismatch("additional_authenticated_data")
	}
	ciphertext := f.aead.Seal(nil, nil, req.Plaintext, req.AdditionalAuthenticatedData)
	resp := &kmspb.EncryptResponse{
		Name:                    req.Name + "/cryptoKeyVersions/1",
		Ciphertext:              ciphertext,
		CiphertextCrc32C:        checksum(ciphertext),
		VerifiedPlaintextCrc32C: req.PlaintextCrc32C != nil,
		VerifiedAdditionalAuthenticatedDataCrc32C: req.AdditionalAuthenticatedDataCrc32C != nil,
		ProtectionLevel: kmspb.ProtectionLevel_SOFTWARE,
	}
	if f.tamper != nil {
		f.tamper(resp)
	}
	return resp, nil
}

func (f *fakeKMS) Decrypt(_ context.Context, req *kmspb.DecryptRequest) (*kmspb.DecryptResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.decrypts = append(f.decrypts, proto.Clone(req).(*kmspb.DecryptRequest))
	if err := f.refuse(req.Name, "cloudkms.cryptoKeyVersions.useToDecrypt"); err != nil {
		return nil, err
	}
	if c := req.CiphertextCrc32C; c != nil && c.Value != crc32c(req.Ciphertext) {
		return nil, checksumMismatch("ciphertext")
	}
	if c := req.AdditionalAuthenticatedDataCrc32C; c != nil && c.Value != crc32c(req.AdditionalAuthenticatedData) {
		return nil, checksumMismatch("additional_authenticated_data")
	}
	plaintext, err := f.aead.Open(nil, nil, req.Ciphertext, req.AdditionalAuthenticatedData)
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, "Decryption failed: the ciphertext is invalid.")
	}
	resp := &kmspb.DecryptResponse{
		Plaintext:       plaintext,
		PlaintextCrc32C: checksum(plaintext),
		UsedPrimary:     true,
		ProtectionLevel: kmspb.ProtectionLevel_SOFTWARE,
	}
	if f.tamper != nil {
		f.tamper(resp)
	}
	return resp, nil
}

// serve runs f on a loopback port for the test and returns its address.
func (f *fakeKMS) serve(t *testing.T) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	kmspb.RegisterKeyManagementServiceServer(srv, f)
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)
	return lis.Addr().String()
}

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
