package sigv4

import (
	"bytes"
	"fmt"
	"testing"
)

func TestKeyCache(t *testing.T) {
	var c KeyCache
	want := SigningKey("secret", "20260102", "us-east-1", "lambda")
	for range 2 {
		if got := c.get("secret", "20260102", "us-east-1", "lambda"); !bytes.Equal(got, want) {
			t.Fatalf("cached key %x, want %x", got, want)
		}
	}
	if got := c.get("secret", "20260103", "us-east-1", "lambda"); bytes.Equal(got, want) {
		t.Error("another day gave the same key")
	}
	for i := range maxCachedKeys + 1 {
		c.get(fmt.Sprint("s", i), "20260102", "us-east-1", "lambda")
	}
	if len(c.keys) > maxCachedKeys {
		t.Errorf("%d keys kept, at most %d", len(c.keys), maxCachedKeys)
	}
}
