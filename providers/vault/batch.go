package vault

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/kmsenc/kmsenc/providers"
)

// DecryptBatch unwraps items with one <mount>/decrypt/<key> call (Transit's
// batch_input) per thousand items, made one after another. Each result is the
// item's own: Vault reports a failed item (a wrong context, a tampered
// ciphertext, a key version below min_decryption_version) beside the items
// that succeeded, and that item alone fails, with the error Decrypt would
// give. A failure of the whole call (access denied, Vault unreachable after
// the retries) is reported on every item of the call.
func (p *Provider) DecryptBatch(ctx context.Context, items []providers.DecryptItem) []providers.DecryptResult {
	results := make([]providers.DecryptResult, len(items))
	for start := 0; start < len(items); start += p.maxBatch {
		end := min(start+p.maxBatch, len(items))
		p.decryptBatch(ctx, items[start:end], results[start:end])
	}
	for i := range results {
		if results[i].Err != nil {
			results[i].Err = &providers.Error{Op: opDecrypt, KeyURL: p.url, Err: results[i].Err}
		}
	}
	return results
}

// decryptBatch fills results with the outcome of one call for items. Items
// that can't be Transit ciphertexts fail without being sent.
func (p *Provider) decryptBatch(ctx context.Context, items []providers.DecryptItem, results []providers.DecryptResult) {
	input := make([]map[string]string, 0, len(items))
	sent := make([]int, 0, len(items)) // the index in items of each input
	for i, item := range items {
		if err := p.checkCiphertext(item.Ciphertext); err != nil {
			results[i].Err = err
			continue
		}
		input = append(input, map[string]string{
			"ciphertext": string(item.Ciphertext),
			"context":    transitContext(item.Context),
		})
		sent = append(sent, i)
	}
	if len(input) == 0 {
		return
	}

	// last is the last answer with a result per item. Transit answers 400
	// when an item failed for a reason of its own (whether or not others
	// succeeded): that is an answer, not a failed call. It answers 500 when
	// an item failed inside Vault: the call is retried, and the items that
	// succeeded in the last attempt keep their plaintexts.
	var last []batchResult
	body := map[string]any{"batch_input": input}
	err := providers.Retry(ctx, p.retry, providers.Transient, func(ctx context.Context) error {
		a := p.send(ctx, opDecrypt, body)
		last = nil
		if a.body != nil && len(a.body.Data.BatchResults) == len(input) {
			last = a.body.Data.BatchResults
			if a.err == nil || a.status == http.StatusBadRequest {
				return nil
			}
		}
		switch {
		case a.err == nil && a.body != nil:
			return fmt.Errorf("the Vault server answered %d results for a batch of %d items to %s/%s/%s", len(a.body.Data.BatchResults), len(input), p.mount, opDecrypt, p.key)
		case a.err == nil:
			return fmt.Errorf("the Vault server answered %s/%s/%s with HTTP %d and a body that is not Vault's JSON", p.mount, opDecrypt, p.key, a.status)
		case ctx.Err() != nil:
			return a.err
		}
		return p.classify(opDecrypt, a)
	})
	if err != nil && (last == nil || !errors.Is(err, providers.ErrUnavailable)) {
		for _, i := range sent {
			results[i].Err = err
		}
		return
	}
	for j, r := range last {
		i := sent[j]
		switch {
		case r.Error == "":
			results[i].Plaintext, results[i].Err = p.plaintext(r.Plaintext)
		case err != nil: // an item that failed inside Vault in the last attempt
			results[i].Err = fmt.Errorf("%w; this item: %s", err, r.Error)
		default:
			results[i].Err = p.classifyMessage(opDecrypt, http.StatusBadRequest, r.Error, nil)
		}
	}
}
