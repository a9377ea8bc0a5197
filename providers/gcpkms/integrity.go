package gcpkms

import (
	"hash/crc32"
	"strings"

	"cloud.google.com/go/kms/apiv1/kmspb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/kmsenc/kmsenc/providers"
)

// The checks of this file follow Google's "Verifying end-to-end data
// integrity" for Cloud KMS: a client sends the CRC32C of what it sends and
// verifies the CRC32C of what it receives, and retries a bounded number of
// times on a mismatch, which means corruption in transit.

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func crc32c(b []byte) int64 { return int64(crc32.Checksum(b, castagnoli)) }

func checksum(b []byte) *wrapperspb.Int64Value { return wrapperspb.Int64(crc32c(b)) }

// corrupted reports a failed integrity check. It is retried, and reported as
// [providers.ErrUnavailable] when every attempt fails it.
func corrupted(msg string) error {
	return &kmsError{Kind: providers.ErrUnavailable, Msg: msg}
}

func (p *Provider) verifyEncrypt(resp *kmspb.EncryptResponse) error {
	switch {
	case !resp.VerifiedPlaintextCrc32C:
		return corrupted("Cloud KMS did not verify the plaintext_crc32c of the Encrypt request: the request was corrupted in transit, or the server ignores checksums")
	case !resp.VerifiedAdditionalAuthenticatedDataCrc32C:
		return corrupted("Cloud KMS did not verify the additional_authenticated_data_crc32c of the Encrypt request: the request was corrupted in transit, or the server ignores checksums")
	case resp.CiphertextCrc32C == nil || resp.CiphertextCrc32C.Value != crc32c(resp.Ciphertext):
		return corrupted("the ciphertext of Cloud KMS's Encrypt response does not match its ciphertext_crc32c: corrupted in transit")
	case !strings.HasPrefix(resp.Name, p.name+"/cryptoKeyVersions/"):
		return &kmsError{Kind: providers.ErrUnavailable, Msg: "Cloud KMS answered Encrypt on " + p.name + " with a ciphertext of " + resp.Name}
	}
	return nil
}

func verifyDecrypt(resp *kmspb.DecryptResponse) error {
	if resp.PlaintextCrc32C == nil || resp.PlaintextCrc32C.Value != crc32c(resp.Plaintext) {
		return corrupted("the plaintext of Cloud KMS's Decrypt response does not match its plaintext_crc32c: corrupted in transit")
	}
	return nil
}
