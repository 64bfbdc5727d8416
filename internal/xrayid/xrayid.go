// Package xrayid makes AWS X-Ray trace IDs, the Root of X-Amzn-Trace-Id:
// 1-<Unix seconds, 8 hex digits>-<96 bits, 24 hex digits>. Its 16 bytes are
// also a valid W3C (OpenTelemetry) trace ID.
package xrayid

import (
	"encoding/binary"
	"math/rand/v2"
	"time"
)

// ID is a trace ID: 4 bytes of Unix seconds, big-endian, then 12 bytes
// that make it unique.
type ID [16]byte

// New is a fresh ID for time now with 96 random bits.
func New(now time.Time) ID {
	var id ID
	binary.BigEndian.PutUint32(id[:4], uint32(now.Unix()))
	binary.BigEndian.PutUint32(id[4:8], rand.Uint32())
	binary.BigEndian.PutUint64(id[8:], rand.Uint64())
	return id
}

// Derive is the ID for time now and key, the same for the same pair: every
// encoding of one request (keyed by its request ID) carries one trace ID
// without storing it. The 96 bits are FNV-1a of key, not random: Derive is
// not for IDs that must be unguessable.
func Derive(now time.Time, key string) ID {
	var id ID
	binary.BigEndian.PutUint32(id[:4], uint32(now.Unix()))
	h := fnv64a(fnvOffset, key)
	binary.BigEndian.PutUint64(id[4:12], h)
	binary.BigEndian.PutUint32(id[12:], uint32(fnv64a(h, "\x5c")))
	return id
}

const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

// fnv64a continues an FNV-1a 64-bit hash over s.
func fnv64a(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= fnvPrime
	}
	return h
}

// Append appends id's X-Ray form, 1-<8 hex>-<24 hex>, to b.
func (id ID) Append(b []byte) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '1', '-')
	for i, c := range id {
		if i == 4 {
			b = append(b, '-')
		}
		b = append(b, hex[c>>4], hex[c&0xf])
	}
	return b
}

// String is id's X-Ray form, 1-<8 hex>-<24 hex>.
func (id ID) String() string {
	var b [35]byte
	return string(id.Append(b[:0]))
}
