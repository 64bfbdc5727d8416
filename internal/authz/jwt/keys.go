package jwt

import (
	"context"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// keySet is an immutable snapshot of the issuer's signing keys.
type keySet struct {
	keys    map[string]*jose.JSONWebKey // by kid; RSA public keys for signing only
	fetched time.Time                   // a.now at fetch
}

// fetchCall is one key fetch that concurrent callers share.
type fetchCall struct {
	done chan struct{}
	err  error // set before done is closed
}

var (
	errNoKey       = errors.New("no key with this kid")
	errRateLimited = errors.New("key set refreshed too recently")
)

// key returns the key for kid. A cached, fresh key is returned at once. An
// unknown kid triggers a key fetch (shared with concurrent callers, and at
// most one per MinRefreshInterval) that the caller waits for, bounded by
// ctx and the fetch timeouts. A stale key is returned at once while a
// background refresh runs.
func (a *Authorizer) key(ctx context.Context, kid string) (*jose.JSONWebKey, error) {
	ks := a.keys.Load()
	if ks != nil {
		if k := ks.keys[kid]; k != nil {
			if a.now().Sub(ks.fetched) >= a.ttl {
				a.refresh() // background; the stale key keeps working
			}
			return k, nil
		}
	}
	call := a.refresh()
	if call == nil {
		return nil, fmt.Errorf("kid %q: %w (%w)", kid, errNoKey, errRateLimited)
	}
	select {
	case <-call.done:
	case <-ctx.Done():
		return nil, fmt.Errorf("kid %q: waiting for key set: %w", kid, ctx.Err())
	}
	if ks := a.keys.Load(); ks != nil {
		if k := ks.keys[kid]; k != nil {
			return k, nil
		}
	}
	if call.err != nil {
		return nil, fmt.Errorf("kid %q: %w", kid, call.err)
	}
	return nil, fmt.Errorf("kid %q: %w", kid, errNoKey)
}

// Prefetch fetches the issuer's keys now, waiting for the result, unless a
// fetch is already running or one ran within MinRefreshInterval (then it
// returns nil). Use it at startup to surface a misconfigured issuer early;
// Authorize does not need it.
func (a *Authorizer) Prefetch(ctx context.Context) error {
	call := a.refresh()
	if call == nil {
		return nil
	}
	select {
	case <-call.done:
		return call.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// refresh starts a key fetch, or joins the one in progress. It returns nil
// when the last fetch started less than MinRefreshInterval ago.
func (a *Authorizer) refresh() *fetchCall {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.inflight != nil {
		return a.inflight
	}
	now := a.now()
	if !a.lastFetch.IsZero() && now.Sub(a.lastFetch) < a.minRefresh {
		return nil
	}
	a.lastFetch = now
	c := &fetchCall{done: make(chan struct{})}
	a.inflight = c
	jwksURI := a.jwksURI
	go a.fetch(c, jwksURI)
	return c
}

// fetch runs one refresh: discovery (unless the jwks_uri is known), then
// the key set. Each request is bounded by the fetch timeout, and neither
// depends on any client request's context.
func (a *Authorizer) fetch(c *fetchCall, jwksURI string) {
	ks, uri, err := a.load(jwksURI)
	a.mu.Lock()
	if err == nil {
		a.keys.Store(ks)
		a.jwksURI = uri
	} else {
		a.jwksURI = "" // rediscover next time
	}
	a.inflight = nil
	a.mu.Unlock()
	c.err = err
	close(c.done)
}

func (a *Authorizer) load(jwksURI string) (*keySet, string, error) {
	if jwksURI == "" {
		var doc struct {
			JWKSURI string `json:"jwks_uri"`
		}
		if err := a.getJSON(a.discoveryURL, &doc); err != nil {
			return nil, "", fmt.Errorf("openid discovery: %w", err)
		}
		u, err := url.Parse(doc.JWKSURI)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return nil, "", fmt.Errorf("openid discovery %s: jwks_uri %q is not an absolute http(s) URL", a.discoveryURL, doc.JWKSURI)
		}
		jwksURI = doc.JWKSURI
	}
	// Keys are decoded one by one so that a key of a type this authorizer
	// does not use (EC, OKP, ...) cannot make the whole set unusable.
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := a.getJSON(jwksURI, &set); err != nil {
		return nil, "", fmt.Errorf("jwks: %w", err)
	}
	ks := &keySet{keys: make(map[string]*jose.JSONWebKey, len(set.Keys)), fetched: a.now()}
	for _, raw := range set.Keys {
		k := new(jose.JSONWebKey)
		if err := k.UnmarshalJSON(raw); err != nil {
			continue
		}
		if k.KeyID == "" || (k.Use != "" && k.Use != "sig") || !k.IsPublic() {
			continue
		}
		if _, ok := k.Key.(*rsa.PublicKey); !ok {
			continue
		}
		ks.keys[k.KeyID] = k
	}
	if len(ks.keys) == 0 {
		return nil, "", fmt.Errorf("jwks %s: no RSA signing key with a kid", jwksURI)
	}
	return ks, jwksURI, nil
}

// getJSON GETs u and decodes its JSON body into v, bounded by the fetch
// timeout and MaxDocumentBytes.
func (a *Authorizer) getJSON(u string, v any) error {
	ctx, cancel := context.WithTimeout(context.Background(), a.fetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("get %s: %w", u, err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := a.client.Do(req)
	if err != nil {
		return fmt.Errorf("get %s: %w", u, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("get %s: status %d", u, resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxDocumentBytes+1))
	if err != nil {
		return fmt.Errorf("get %s: read body: %w", u, err)
	}
	if len(body) > MaxDocumentBytes {
		return fmt.Errorf("get %s: body exceeds %d bytes", u, MaxDocumentBytes)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("get %s: decode: %w", u, err)
	}
	return nil
}
