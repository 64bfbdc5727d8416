package lambda

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"fmt"
)

// FunctionCredentials derives each function's own credentials from a
// secret: the access key ID, secret access key and session token are HMACs
// of the function name, so they are stable for the life of the secret,
// differ between functions, and cannot be guessed from another function's.
// Its For method is the runner's Config.Credentials hook; the S3 store
// (and any other Portico service) maps the key ID back to the function
// through ForName. Safe for concurrent use.
type FunctionCredentials struct {
	secret []byte
}

// NewFunctionCredentials returns a deriver keyed by secret; a nil or empty
// secret means 32 random bytes (credentials then change on every start of
// Portico, as STS credentials would).
func NewFunctionCredentials(secret []byte) (*FunctionCredentials, error) {
	if len(secret) == 0 {
		secret = make([]byte, 32)
		if _, err := rand.Read(secret); err != nil {
			return nil, fmt.Errorf("function credentials: random secret: %w", err)
		}
	}
	return &FunctionCredentials{secret: append([]byte(nil), secret...)}, nil
}

// For returns the credentials of fn (only its name is used).
func (c *FunctionCredentials) For(fn Function) (id, secret, token string) {
	return c.ForName(fn.Name)
}

// ForName returns the credentials of the function named name: an
// "ASIA"-prefixed 20-character key ID (as temporary AWS keys look), a
// 40-character secret and a session token.
func (c *FunctionCredentials) ForName(name string) (id, secret, token string) {
	mac := func(purpose string) []byte {
		m := hmac.New(sha256.New, c.secret)
		m.Write([]byte(purpose + "\x00" + name))
		return m.Sum(nil)
	}
	id = "ASIA" + base32.StdEncoding.EncodeToString(mac("id"))[:16]
	secret = base64.RawStdEncoding.EncodeToString(mac("secret"))[:40]
	token = base64.RawStdEncoding.EncodeToString(mac("token"))
	return id, secret, token
}
