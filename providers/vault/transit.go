package vault

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
)

// transitResponse is the data of a Transit answer: on success, and for a
// batch also when some items failed. (Vault's errors of a failed request come
// in the client's *api.ResponseError.)
type transitResponse struct {
	Data struct {
		Ciphertext   string        `json:"ciphertext"` // encrypt, rewrap
		Plaintext    string        `json:"plaintext"`  // decrypt
		BatchResults []batchResult `json:"batch_results"`
	} `json:"data"`
}

// batchResult is one item of a batch answer: its plaintext, or its error.
type batchResult struct {
	Plaintext string `json:"plaintext"`
	Error     string `json:"error"`
}

// answer is the outcome of one request: the HTTP status (0 when none came
// back), the body when it is Vault's JSON, and the client's error.
type answer struct {
	status int
	body   *transitResponse
	err    error
}

// send makes one request to <mount>/<op>/<key>, with the client's address,
// token and namespace as they are now, and no retry.
//
// It uses the client's RawRequestWithContext because it is the one call of
// the client that both keeps the body of a non-2xx answer (Transit reports
// the failed items of a batch in the body of a 400, beside the items that
// succeeded) and leaves the context alive while the body is read
// (Logical().WriteRaw cancels it on return). The client derives a context
// with its timeout that it never cancels; cancelling ours once the body is
// read releases it.
func (p *Provider) send(ctx context.Context, op string, body map[string]any) answer {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	r := p.client.NewRequest(http.MethodPost, "/v1/"+p.mount+"/"+op+"/"+p.key)
	if err := r.SetJSONBody(body); err != nil {
		return answer{err: err}
	}
	//lint:ignore SA1019 the one call that keeps a 400's body and the context (see above)
	resp, err := p.client.RawRequestWithContext(ctx, r)
	if resp == nil {
		return answer{err: err}
	}
	defer resp.Body.Close()
	a := answer{status: resp.StatusCode, err: err}
	var tr transitResponse
	if json.NewDecoder(resp.Body).Decode(&tr) == nil {
		a.body = &tr
	}
	_, _ = io.Copy(io.Discard, resp.Body) // so that the connection is reused
	return a
}
