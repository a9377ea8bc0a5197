// Package gcpkmstest is an in-process fake of Google Cloud KMS for tests of
// gcpkms:// keys, in the manner of net/http/httptest: [NewServer] serves
// Cloud KMS's Encrypt and Decrypt over real gRPC on a loopback port, where
// the real client library (and a key URL with endpoint=<Addr>) reaches it.
//
// Each CryptoKey is AES-256-GCM with the request's additional authenticated
// data; request checksums are verified and response checksums computed as
// Google documents them. Switches make the server refuse (IAM), fail
// (UNAVAILABLE, quotas) or corrupt its answers, and it records every request.
//
// Cloud KMS decides permissions by the caller's identity. The fake tells
// callers apart by the endpoint they reach: [Server.Addr] is the [Owner]'s,
// and [Server.Listen] opens an endpoint for another principal, whose
// permissions [Server.Deny] and [Server.Allow] change, as an IAM binding
// would.
package gcpkmstest

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"hash/crc32"
	"net"
	"sync"
	"testing"

	"cloud.google.com/go/kms/apiv1/kmspb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// Key is the CryptoKey that [NewServer] creates.
const Key = "projects/p/locations/global/keyRings/r/cryptoKeys/k"

// The permissions of Encrypt and Decrypt, as Cloud KMS names them.
const (
	PermEncrypt = "cloudkms.cryptoKeyVersions.useToEncrypt"
	PermDecrypt = "cloudkms.cryptoKeyVersions.useToDecrypt"
)

// Principals: Owner is the caller at [Server.Addr]; Everyone, given to
// [Server.Deny] and [Server.Allow], stands for every principal.
const (
	Owner    = "owner"
	Everyone = "*"
)

// Server is a fake Cloud KMS. Its methods are safe for concurrent use.
type Server struct {
	// Addr is the host:port of the Owner's endpoint, for a key URL's
	// endpoint parameter or option.WithEndpoint.
	Addr string

	mu       sync.Mutex
	keys     map[string]cipher.AEAD
	denied   map[string]map[string]bool // principal (or Everyone) -> permission -> denied
	fail     codes.Code
	tamper   func(proto.Message)
	encrypts []*kmspb.EncryptRequest
	decrypts []*kmspb.DecryptRequest
	servers  []*grpc.Server
}

// NewServer starts a server with the CryptoKey [Key], on which the Owner
// may encrypt and decrypt. It stops when the test ends.
func NewServer(t testing.TB) *Server {
	t.Helper()
	s := &Server{keys: map[string]cipher.AEAD{}, denied: map[string]map[string]bool{}}
	s.CreateKey(t, Key)
	s.Addr = s.Listen(t, Owner)
	return s
}

// CreateKey creates a CryptoKey with fresh key material; name is
// projects/<p>/locations/<l>/keyRings/<r>/cryptoKeys/<k>.
func (s *Server) CreateKey(t testing.TB, name string) {
	t.Helper()
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
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys[name] = aead
}

// Listen opens another endpoint on a loopback port, whose callers act as
// principal, and returns its host:port. It closes when the test ends.
func (s *Server) Listen(t testing.TB, principal string) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	kmspb.RegisterKeyManagementServiceServer(srv, &endpoint{s: s, principal: principal})
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)
	s.mu.Lock()
	s.servers = append(s.servers, srv)
	s.mu.Unlock()
	return lis.Addr().String()
}

// Close stops every endpoint at once: callers then find nothing listening.
func (s *Server) Close() {
	s.mu.Lock()
	servers := s.servers
	s.servers = nil
	s.mu.Unlock()
	for _, srv := range servers {
		srv.Stop()
	}
}

// Deny makes calls of principal (or of Everyone) that need one of the
// permissions fail with PERMISSION_DENIED, as when its IAM binding is
// removed. With no permission given, it denies both.
func (s *Server) Deny(principal string, permissions ...string) {
	s.setDenied(principal, true, permissions)
}

// Allow undoes Deny for principal (or for Everyone, which doesn't undo a
// denial of a single principal).
func (s *Server) Allow(principal string, permissions ...string) {
	s.setDenied(principal, false, permissions)
}

func (s *Server) setDenied(principal string, denied bool, permissions []string) {
	if len(permissions) == 0 {
		permissions = []string{PermEncrypt, PermDecrypt}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.denied[principal] == nil {
		s.denied[principal] = map[string]bool{}
	}
	for _, p := range permissions {
		s.denied[principal][p] = denied
	}
}

// Fail makes every call fail with code (UNAVAILABLE for an outage,
// RESOURCE_EXHAUSTED for a quota, ...); codes.OK serves again.
func (s *Server) Fail(code codes.Code) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail = code
}

// Tamper has f change every response (an *kmspb.EncryptResponse or
// *kmspb.DecryptResponse) before it is sent; nil stops it.
func (s *Server) Tamper(f func(proto.Message)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tamper = f
}

// Calls returns the number of Encrypt and Decrypt requests so far, failed
// ones included.
func (s *Server) Calls() (encrypts, decrypts int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.encrypts), len(s.decrypts)
}

// EncryptRequests returns copies of the Encrypt requests so far.
func (s *Server) EncryptRequests() []*kmspb.EncryptRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*kmspb.EncryptRequest, len(s.encrypts))
	for i, r := range s.encrypts {
		out[i] = proto.Clone(r).(*kmspb.EncryptRequest)
	}
	return out
}

// DecryptRequests returns copies of the Decrypt requests so far.
func (s *Server) DecryptRequests() []*kmspb.DecryptRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*kmspb.DecryptRequest, len(s.decrypts))
	for i, r := range s.decrypts {
		out[i] = proto.Clone(r).(*kmspb.DecryptRequest)
	}
	return out
}

// refuse returns the error Cloud KMS would answer instead of serving a call
// of principal on the key name that needs permission, or nil. s.mu is held.
func (s *Server) refuse(principal, name, permission string) error {
	switch {
	case s.denied[principal][permission] || s.denied[Everyone][permission]:
		return status.Errorf(codes.PermissionDenied, "Permission '%s' denied on resource '%s' (or it may not exist).", permission, name)
	case s.fail != codes.OK:
		return status.Errorf(s.fail, "fake failure %s", s.fail)
	case s.keys[name] == nil:
		return status.Errorf(codes.NotFound, "CryptoKey %s not found.", name)
	}
	return nil
}

func checksumMismatch(field string) error {
	return status.Errorf(codes.InvalidArgument, "The checksum in field %s did not match the data in field %s.", field+"_crc32c", field)
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func crc32c(b []byte) int64 { return int64(crc32.Checksum(b, castagnoli)) }

func checksum(b []byte) *wrapperspb.Int64Value { return wrapperspb.Int64(crc32c(b)) }

func (s *Server) encrypt(principal string, req *kmspb.EncryptRequest) (*kmspb.EncryptResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.encrypts = append(s.encrypts, proto.Clone(req).(*kmspb.EncryptRequest))
	if err := s.refuse(principal, req.Name, PermEncrypt); err != nil {
		return nil, err
	}
	if c := req.PlaintextCrc32C; c != nil && c.Value != crc32c(req.Plaintext) {
		return nil, checksumMismatch("plaintext")
	}
	if c := req.AdditionalAuthenticatedDataCrc32C; c != nil && c.Value != crc32c(req.AdditionalAuthenticatedData) {
		return nil, checksumMismatch("additional_authenticated_data")
	}
	ciphertext := s.keys[req.Name].Seal(nil, nil, req.Plaintext, req.AdditionalAuthenticatedData)
	resp := &kmspb.EncryptResponse{
		Name:                    req.Name + "/cryptoKeyVersions/1",
		Ciphertext:              ciphertext,
		CiphertextCrc32C:        checksum(ciphertext),
		VerifiedPlaintextCrc32C: req.PlaintextCrc32C != nil,
		VerifiedAdditionalAuthenticatedDataCrc32C: req.AdditionalAuthenticatedDataCrc32C != nil,
		ProtectionLevel: kmspb.ProtectionLevel_SOFTWARE,
	}
	if s.tamper != nil {
		s.tamper(resp)
	}
	return resp, nil
}

func (s *Server) decrypt(principal string, req *kmspb.DecryptRequest) (*kmspb.DecryptResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.decrypts = append(s.decrypts, proto.Clone(req).(*kmspb.DecryptRequest))
	if err := s.refuse(principal, req.Name, PermDecrypt); err != nil {
		return nil, err
	}
	if c := req.CiphertextCrc32C; c != nil && c.Value != crc32c(req.Ciphertext) {
		return nil, checksumMismatch("ciphertext")
	}
	if c := req.AdditionalAuthenticatedDataCrc32C; c != nil && c.Value != crc32c(req.AdditionalAuthenticatedData) {
		return nil, checksumMismatch("additional_authenticated_data")
	}
	plaintext, err := s.keys[req.Name].Open(nil, nil, req.Ciphertext, req.AdditionalAuthenticatedData)
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, "Decryption failed: the ciphertext is invalid.")
	}
	resp := &kmspb.DecryptResponse{
		Plaintext:       plaintext,
		PlaintextCrc32C: checksum(plaintext),
		UsedPrimary:     true,
		ProtectionLevel: kmspb.ProtectionLevel_SOFTWARE,
	}
	if s.tamper != nil {
		s.tamper(resp)
	}
	return resp, nil
}

// endpoint serves the calls of one principal.
type endpoint struct {
	kmspb.UnimplementedKeyManagementServiceServer
	s         *Server
	principal string
}

func (e *endpoint) Encrypt(_ context.Context, req *kmspb.EncryptRequest) (*kmspb.EncryptResponse, error) {
	return e.s.encrypt(e.principal, req)
}

func (e *endpoint) Decrypt(_ context.Context, req *kmspb.DecryptRequest) (*kmspb.DecryptResponse, error) {
	return e.s.decrypt(e.principal, req)
}
