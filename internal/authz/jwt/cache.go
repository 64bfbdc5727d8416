package jwt

import (
	"maps"
	"sync"

	jose "github.com/go-jose/go-jose/v4"
)

// maxCacheBytes bounds the verified-token cache by the total length of its
// tokens; when full it is emptied.
const maxCacheBytes = 4 << 20

// verified is a token whose signature was checked, with its decoded claims.
// Lifetime, issuer, audience and scopes are checked again on every use.
type verified struct {
	key    *jose.JSONWebKey // the key that verified it; a hit needs it still published
	claims *claims
	str    map[string]string // stringified claims; copied out on every hit
}

// tokenCache remembers tokens whose signatures verified, so that a client
// reusing its token does not pay for an RSA verification per request. Only
// verified tokens enter it, so its size is bounded by legitimate tokens.
type tokenCache struct {
	mu    sync.Mutex
	m     map[string]*verified
	bytes int
}

func (c *tokenCache) get(tok string) *verified {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[tok]
}

func (c *tokenCache) put(tok string, v *verified) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || c.bytes+len(tok) > maxCacheBytes {
		c.m = make(map[string]*verified)
		c.bytes = 0
	}
	if _, ok := c.m[tok]; !ok {
		c.bytes += len(tok)
	}
	c.m[tok] = v
}

func (v *verified) claimStrings() map[string]string { return maps.Clone(v.str) }
