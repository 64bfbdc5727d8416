package spec

import (
	"crypto/sha256"
	"encoding/binary"
	"math/big"
	"strconv"
	"strings"
)

// Defaults applied to fields the file leaves out (or sets to null).
const (
	DefaultTimeout         = 3     // Function.Timeout, seconds
	DefaultMemorySize      = 128   // Function.MemorySize, MB
	DefaultTimeoutInMillis = 30000 // Integration.TimeoutInMillis
	DefaultStageName       = "$default"

	// DefaultAccountRateLimit and DefaultAccountBurstLimit are AWS's
	// per-Region account throttle (requests per second, bucket size).
	DefaultAccountRateLimit  = 10000
	DefaultAccountBurstLimit = 5000
	// DefaultAuthorizerTTL is a Lambda authorizer's cache lifetime, in
	// seconds, when it has identity sources and sets no TTL (the CDK's and
	// the console's default; with no identity source it is 0).
	DefaultAuthorizerTTL = 300
	// DefaultJWTIdentitySource is where a JWT authorizer reads the token
	// unless told otherwise.
	DefaultJWTIdentitySource = "$request.header.Authorization"
	// AuthNone is a route's authorizationType when it sets none.
	AuthNone = "NONE"

	// DefaultQueueTimeoutInMillis is Integration.QueueTimeoutInMillis when
	// maxConcurrency is set and the queue timeout is not.
	DefaultQueueTimeoutInMillis = 30000
	// DefaultUpstreamWeight is Upstream.Weight when not given.
	DefaultUpstreamWeight = 1
	// DefaultStorageRegion is Storage.Region when not given.
	DefaultStorageRegion = "us-east-1"
	// DefaultAccessLogDestination is AccessLogSettings.Destination when
	// not given.
	DefaultAccessLogDestination = "stdout"
)

// Integration invoke modes.
const (
	InvokeBuffered = "BUFFERED"
	InvokeStream   = "RESPONSE_STREAM"
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
	if s.AccessKeys == nil {
		s.AccessKeys = map[string]*AccessKey{}
	}
	if s.UsagePlans == nil {
		s.UsagePlans = map[string]*UsagePlan{}
	}
	if s.APIKeys == nil {
		s.APIKeys = map[string]*APIKey{}
	}
	if st := s.Storage; st != nil {
		if _, ok := pos.at(&st.Region); !ok {
			st.Region = DefaultStorageRegion
		}
	}
	if s.Account == nil {
		s.Account = &AccountSettings{}
	}
	if s.Account.ThrottlingRateLimit == nil {
		r := float64(DefaultAccountRateLimit)
		s.Account.ThrottlingRateLimit = &r
	}
	if s.Account.ThrottlingBurstLimit == nil {
		b := DefaultAccountBurstLimit
		s.Account.ThrottlingBurstLimit = &b
	}
	for _, k := range s.APIKeys {
		if _, ok := pos.at(&k.Value); !ok {
			k.Value = DeriveAPIKeyValue(k.Name)
		}
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
					if a.ProtocolType == WebSocket {
						i.PayloadFormatVersion = "1.0" // AWS's only value for WebSocket APIs
					}
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
			setIntegrationDefaults(i, pos)
		}
		if a.Authorizers == nil {
			a.Authorizers = map[string]*Authorizer{}
		}
		for _, au := range a.Authorizers {
			setAuthorizerDefaults(au, pos)
		}
		for _, r := range a.Routes {
			if a.ProtocolType != WebSocket {
				r.Method, r.Path, _ = ParseRouteKey(r.Key) // errors are the validator's
			}
			if _, ok := pos.at(&r.AuthorizationType); !ok {
				r.AuthorizationType = AuthNone
			}
		}
		if len(a.Stages) == 0 {
			a.Stages = map[string]*Stage{DefaultStageName: {Name: DefaultStageName, Pos: a.Pos, AutoDeploy: true}}
		}
		for _, st := range a.Stages {
			if st.StageVariables == nil {
				st.StageVariables = map[string]string{}
			}
			if st.RouteSettings == nil {
				st.RouteSettings = map[string]*RouteSettings{}
			}
			if al := st.AccessLogSettings; al != nil {
				if _, ok := pos.at(&al.Destination); !ok {
					al.Destination = DefaultAccessLogDestination
				}
			}
		}
	}
}

// setIntegrationDefaults fills the invoke mode, the queue of a
// concurrency-capped integration and the upstreams' weights.
func setIntegrationDefaults(i *Integration, pos positions) {
	if _, ok := pos.at(&i.InvokeMode); !ok {
		i.InvokeMode = InvokeBuffered
	}
	if i.MaxConcurrency != nil {
		if i.MaxQueue == nil {
			q := 0
			i.MaxQueue = &q
		}
		if i.QueueTimeoutInMillis == nil {
			t := DefaultQueueTimeoutInMillis
			i.QueueTimeoutInMillis = &t
		}
	}
	for _, u := range i.Upstreams {
		if u.Weight == nil {
			w := DefaultUpstreamWeight
			u.Weight = &w
		}
	}
}

// setAuthorizerDefaults fills a JWT authorizer's identity source and a
// REQUEST authorizer's payload format version and cache TTL. Fields that
// do not apply to the authorizer's type are left alone (the validator
// reports them when given).
func setAuthorizerDefaults(au *Authorizer, pos positions) {
	switch au.Type {
	case AuthorizerJWT:
		if _, ok := pos.at(&au.IdentitySource); !ok {
			au.IdentitySource = []string{DefaultJWTIdentitySource}
		}
	case AuthorizerRequest:
		if _, ok := pos.at(&au.AuthorizerPayloadFormatVersion); !ok {
			au.AuthorizerPayloadFormatVersion = "2.0"
		}
		if au.AuthorizerResultTtlInSeconds == nil {
			ttl := 0
			if len(au.IdentitySource) > 0 {
				ttl = DefaultAuthorizerTTL
			}
			au.AuthorizerResultTtlInSeconds = &ttl
		}
	}
}

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// DeriveAPIKeyValue returns the default value of the API key named name:
// the SHA-256 of "portico-apikey:"+name read as a big-endian number,
// written in base 62 (0-9A-Za-z), left-padded with "0" to 43 digits and cut
// to its first 40. The same name always gives the same value, so the value
// is no secret: real deployments set value explicitly.
func DeriveAPIKeyValue(name string) string {
	sum := sha256.Sum256([]byte("portico-apikey:" + name))
	n := new(big.Int).SetBytes(sum[:])
	var b []byte
	sixtyTwo := big.NewInt(62)
	rem := new(big.Int)
	for n.Sign() > 0 {
		n.QuoRem(n, sixtyTwo, rem)
		b = append(b, base62[rem.Int64()])
	}
	for len(b) < 43 {
		b = append(b, '0')
	}
	for i, j := 0, len(b)-1; i < j; i, j = i+1, j-1 {
		b[i], b[j] = b[j], b[i]
	}
	return string(b[:40])
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
