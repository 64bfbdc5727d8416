package spec

import (
	"crypto/sha256"
	"encoding/binary"
	"strconv"
	"strings"
)

// Defaults applied to fields the file leaves out (or sets to null).
const (
	DefaultTimeout         = 3     // Function.Timeout, seconds
	DefaultMemorySize      = 128   // Function.MemorySize, MB
	DefaultTimeoutInMillis = 30000 // Integration.TimeoutInMillis
	DefaultStageName       = "$default"
)

// setDefaults fills what the file left out. A field counts as given when
// the decoder recorded a position for it.
func setDefaults(s *Spec, pos positions) {
	if s.Functions == nil {
		s.Functions = map[string]*Function{}
	}
	if s.Roles == nil {
		s.Roles = map[string]*Role{}
	}
	if s.Buckets == nil {
		s.Buckets = map[string]*Bucket{}
	}
	if s.APIs == nil {
		s.APIs = map[string]*API{}
	}
	for _, f := range s.Functions {
		if _, ok := pos.at(&f.Timeout); !ok {
			f.Timeout = DefaultTimeout
		}
		if _, ok := pos.at(&f.MemorySize); !ok {
			f.MemorySize = DefaultMemorySize
		}
		if f.Environment == nil {
			f.Environment = map[string]string{}
		}
	}
	for _, a := range s.APIs {
		if _, ok := pos.at(&a.ProtocolType); !ok {
			a.ProtocolType = "HTTP"
		}
		if _, ok := pos.at(&a.ID); !ok {
			a.ID = DeriveAPIID(a.Name)
		}
		if a.Integrations == nil {
			a.Integrations = map[string]*Integration{}
		}
		if a.Routes == nil {
			a.Routes = map[string]*Route{}
		}
		for _, i := range a.Integrations {
			if _, ok := pos.at(&i.PayloadFormatVersion); !ok {
				switch i.Type {
				case AWSProxy:
					i.PayloadFormatVersion = "2.0"
				case HTTPProxy:
					i.PayloadFormatVersion = "1.0"
				}
			}
			if _, ok := pos.at(&i.TimeoutInMillis); !ok {
				i.TimeoutInMillis = DefaultTimeoutInMillis
			}
			if _, ok := pos.at(&i.Method); !ok && i.Type == HTTPProxy {
				i.Method = "ANY"
			}
		}
		for _, r := range a.Routes {
			r.Method, r.Path, _ = ParseRouteKey(r.Key) // errors are the validator's
		}
		if len(a.Stages) == 0 {
			a.Stages = map[string]*Stage{DefaultStageName: {Name: DefaultStageName, Pos: a.Pos, AutoDeploy: true}}
		}
		for _, st := range a.Stages {
			if st.StageVariables == nil {
				st.StageVariables = map[string]string{}
			}
		}
	}
}

// DeriveAPIID returns the default API id for an API name: ten lower-case
// base-36 digits of the name's SHA-256 (the first 8 bytes, big-endian,
// modulo 36^10, zero-padded). The same name always gives the same id.
func DeriveAPIID(name string) string {
	sum := sha256.Sum256([]byte(name))
	const space = 3656158440062976 // 36^10
	id := strconv.FormatUint(binary.BigEndian.Uint64(sum[:8])%space, 36)
	return strings.Repeat("0", 10-len(id)) + id
}
