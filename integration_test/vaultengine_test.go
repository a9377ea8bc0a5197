package integration_test

// An in-process Vault Transit engine for the tests of providers/vault: the
// real engine of Vault (github.com/hashicorp/vault v1.14.8, the last MPL-2.0
// line, with github.com/hashicorp/vault/sdk v0.9.2) behind a small HTTP
// handler that does the part of Vault's HTTP layer that Transit needs, so
// that the real vault/api client talks to the real engine over 127.0.0.1.
// Derived keys, context enforcement, batch_input, rotate, rewrap and
// min_decryption_version behave as in Vault; token policies don't exist here
// (one token may do everything; addToken adds tokens limited to some
// paths), so refusals are tested with min_decryption_version, with such a
// token and with a switch that answers 403.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/vault/api"
	"github.com/hashicorp/vault/builtin/logical/transit"
	"github.com/hashicorp/vault/sdk/logical"
)

const (
	vaultTestToken = "hvs.kmsenc-test-token"
	vaultTestMount = "transit"
)

// vaultEngine is a Transit engine mounted at "transit/", served over HTTP.
type vaultEngine struct {
	URL   string
	admin *api.Client // for creating, rotating and configuring keys

	backend logical.Backend
	storage logical.Storage

	mu       sync.Mutex
	requests []vaultRequest
	failWith int // when not 0, every request is answered with this status
	// tokens are tokens besides vaultTestToken, each with the paths
	// (without /v1/) it may use: a policy's "update" capability.
	tokens map[string][]string
}

// vaultRequest is a request as it reached the server.
type vaultRequest struct {
	Method, Path string         // Path without /v1/
	Body         map[string]any // the JSON body
}

func startVaultEngine(t *testing.T) *vaultEngine {
	t.Helper()
	ctx := context.Background()
	storage := &logical.InmemStorage{}
	conf := &logical.BackendConfig{
		StorageView: storage,
		Logger:      hclog.NewNullLogger(),
		System:      logical.TestSystemView(),
		BackendUUID: "kmsenc-test-transit",
	}
	b, err := transit.Backend(ctx, conf)
	if err != nil {
		t.Fatalf("transit.Backend: %v", err)
	}
	// Vault v1.14.8's cache-config path declares a CreateOperation without
	// an ExistenceCheck, which sdk v0.9.2 refuses with a panic on the first
	// request. Vault never creates through such a path anyway: without an
	// existence check a write stays an update.
	for _, p := range b.Backend.Paths {
		if p.ExistenceCheck == nil {
			delete(p.Operations, logical.CreateOperation)
			//lint:ignore SA1019 Vault v1.14.8's own paths still fill the deprecated Callbacks
			delete(p.Callbacks, logical.CreateOperation)
		}
	}
	if err := b.Setup(ctx, conf); err != nil {
		t.Fatalf("transit Setup: %v", err)
	}

	v := &vaultEngine{backend: b, storage: storage}
	srv := httptest.NewServer(v)
	t.Cleanup(srv.Close)
	v.URL = srv.URL

	cfg := api.DefaultConfig()
	cfg.Address = srv.URL
	cfg.MaxRetries = 0
	v.admin, err = api.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	v.admin.SetToken(vaultTestToken)
	return v
}

// ServeHTTP does what Vault's HTTP layer does for a logical request: it
// checks the token, turns the method into an operation (a write to a path
// whose existence check finds nothing becomes a create), hands the request to
// the engine, and writes the answer as Vault does: {"data": ...}, a raw
// answer with its own status (Transit's batches), or {"errors": [...]} with
// the status of logical.RespondErrorCommon.
func (v *vaultEngine) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path, ok := strings.CutPrefix(r.URL.Path, "/v1/")
	body, _ := io.ReadAll(r.Body)
	req := vaultRequest{Method: r.Method, Path: path}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if len(bytes.TrimSpace(body)) > 0 && dec.Decode(&req.Body) != nil {
		logical.RespondError(w, http.StatusBadRequest, errors.New("failed to parse JSON input"))
		return
	}
	v.mu.Lock()
	v.requests = append(v.requests, req)
	id := strconv.Itoa(len(v.requests))
	failWith := v.failWith
	token := r.Header.Get("X-Vault-Token")
	permitted := token == vaultTestToken || slices.Contains(v.tokens[token], path)
	v.mu.Unlock()

	switch {
	case failWith == http.StatusForbidden:
		logical.RespondError(w, failWith, errors.New("1 error occurred:\n\t* permission denied\n\n"))
		return
	case failWith == http.StatusServiceUnavailable:
		logical.RespondError(w, failWith, errors.New("Vault is sealed"))
		return
	case failWith != 0:
		logical.RespondError(w, failWith, fmt.Errorf("error %d", failWith))
		return
	case !permitted:
		logical.RespondError(w, http.StatusForbidden, logical.ErrPermissionDenied)
		return
	}
	enginePath, inMount := strings.CutPrefix(path, vaultTestMount+"/")
	if !ok || !inMount {
		logical.RespondError(w, http.StatusNotFound, fmt.Errorf("no handler for route %q. route entry not found.", path))
		return
	}

	lreq := &logical.Request{
		ID:          id,
		Path:        enginePath,
		Data:        req.Body,
		Storage:     v.storage,
		MountPoint:  vaultTestMount + "/",
		ClientToken: vaultTestToken,
	}
	switch r.Method {
	case http.MethodGet:
		lreq.Operation = logical.ReadOperation
		if list, _ := strconv.ParseBool(r.URL.Query().Get("list")); list {
			lreq.Operation = logical.ListOperation
		}
	case "LIST":
		lreq.Operation = logical.ListOperation
	case http.MethodDelete:
		lreq.Operation = logical.DeleteOperation
	case http.MethodPut, http.MethodPost:
		lreq.Operation = logical.UpdateOperation
	default:
		logical.RespondError(w, http.StatusMethodNotAllowed, nil)
		return
	}
	ctx := r.Context()
	if lreq.Operation == logical.UpdateOperation {
		checked, exists, err := v.backend.HandleExistenceCheck(ctx, lreq)
		if err != nil {
			status, err := logical.RespondErrorCommon(lreq, nil, err)
			logical.RespondError(w, status, err)
			return
		}
		if checked && !exists {
			lreq.Operation = logical.CreateOperation
		}
	}
	resp, err := v.backend.HandleRequest(ctx, lreq)
	if status, err := logical.RespondErrorCommon(lreq, resp, err); status != 0 || err != nil {
		logical.RespondError(w, status, err)
		return
	}
	switch {
	case resp == nil:
		w.WriteHeader(http.StatusNoContent)
	case resp.Data[logical.HTTPStatusCode] != nil:
		// A raw answer: Transit's batch with failed items.
		w.Header().Set("Content-Type", fmt.Sprint(resp.Data[logical.HTTPContentType]))
		w.WriteHeader(resp.Data[logical.HTTPStatusCode].(int))
		switch raw := resp.Data[logical.HTTPRawBody].(type) {
		case string:
			io.WriteString(w, raw)
		case []byte:
			w.Write(raw)
		}
	default:
		httpResp := logical.LogicalResponseToHTTPResponse(resp)
		httpResp.RequestID = lreq.ID
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(httpResp)
	}
}

// fail makes every request answer with status (0: serve normally).
func (v *vaultEngine) fail(status int) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.failWith = status
}

// count returns the number of requests to path (without /v1/) so far.
func (v *vaultEngine) count(path string) int {
	v.mu.Lock()
	defer v.mu.Unlock()
	n := 0
	for _, r := range v.requests {
		if r.Path == path {
			n++
		}
	}
	return n
}

// last returns the last request to path.
func (v *vaultEngine) last(t *testing.T, path string) vaultRequest {
	t.Helper()
	v.mu.Lock()
	defer v.mu.Unlock()
	for i := len(v.requests) - 1; i >= 0; i-- {
		if v.requests[i].Path == path {
			return v.requests[i]
		}
	}
	t.Fatalf("no request to %s reached Vault", path)
	return vaultRequest{}
}

// write is an administrator's write to the engine, e.g. creating a key.
func (v *vaultEngine) write(t *testing.T, path string, data map[string]any) *api.Secret {
	t.Helper()
	s, err := v.admin.Logical().Write(vaultTestMount+"/"+path, data)
	if err != nil {
		t.Fatalf("write %s: %v", path, err)
	}
	return s
}

// createKey makes an aes256-gcm96 key; derived binds ciphertexts to their
// context, as kmsenc requires.
func (v *vaultEngine) createKey(t *testing.T, name string, derived bool) {
	t.Helper()
	v.write(t, "keys/"+name, map[string]any{"derived": derived})
}

// total returns the number of requests so far.
func (v *vaultEngine) total() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return len(v.requests)
}

// addToken makes token valid for the given paths (without /v1/) only, as a
// policy granting "update" on them would: an encrypt-only service's token is
// addToken(token, "transit/encrypt/app"). Other requests get Vault's 403.
func (v *vaultEngine) addToken(token string, paths ...string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.tokens == nil {
		v.tokens = map[string][]string{}
	}
	v.tokens[token] = append(v.tokens[token], paths...)
}

// client returns a Vault client of the engine with token, its own retries
// off as providers/vault wants them.
func (v *vaultEngine) client(t testing.TB, token string) *api.Client {
	t.Helper()
	cfg := api.DefaultConfig()
	cfg.Address = v.URL
	cfg.MaxRetries = 0
	c, err := api.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c.SetToken(token)
	return c
}
