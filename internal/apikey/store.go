package apikey

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/portico-dev/portico/internal/atomicfile"
	"github.com/portico-dev/portico/internal/redisconn"
)

func sortKeys(ks []Key) {
	slices.SortFunc(ks, func(a, b Key) int { return cmp.Compare(a.Name, b.Name) })
}

// memKeys keeps run-time keys in memory, persisted to file when set.
type memKeys struct {
	file   string
	mu     sync.RWMutex
	byN    map[string]*Key
	byV    map[string]*Key
	writeM sync.Mutex // serialises file writes
}

// dataFile is the JSON document of DataFile.
type dataFile struct {
	Keys []Key `json:"keys"`
}

func newMemKeys(file string) (*memKeys, error) {
	m := &memKeys{file: file, byN: map[string]*Key{}, byV: map[string]*Key{}}
	if file == "" {
		return m, nil
	}
	b, err := os.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		return m, nil
	}
	if err != nil {
		return nil, fmt.Errorf("api keys: read %s: %w", file, err)
	}
	var df dataFile
	if err := json.Unmarshal(b, &df); err != nil {
		return nil, fmt.Errorf("api keys: parse %s: %w", file, err)
	}
	for i, k := range df.Keys {
		if err := validateKey(k); err != nil {
			return nil, fmt.Errorf("api keys: %s: key %d (%q): %w", file, i, k.Name, err)
		}
		if m.byN[k.Name] != nil || m.byV[k.Value] != nil {
			return nil, fmt.Errorf("api keys: %s: key %q: duplicate name or value", file, k.Name)
		}
		kp := &k
		m.byN[k.Name], m.byV[k.Value] = kp, kp
	}
	return m, nil
}

func (m *memKeys) byValue(_ context.Context, v string) (*Key, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.byV[v], nil
}

func (m *memKeys) byName(_ context.Context, n string) (*Key, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.byN[n], nil
}

func (m *memKeys) list(context.Context) ([]Key, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := make([]Key, 0, len(m.byN))
	for _, k := range m.byN {
		out = append(out, *k)
	}
	return out, nil
}

func (m *memKeys) create(_ context.Context, k Key) error {
	m.writeM.Lock()
	defer m.writeM.Unlock()
	m.mu.Lock()
	if m.byN[k.Name] != nil {
		m.mu.Unlock()
		return ErrExists
	}
	if m.byV[k.Value] != nil {
		m.mu.Unlock()
		return fmt.Errorf("%w (value collision)", ErrExists)
	}
	snapshot := m.snapshotLocked(&k)
	m.mu.Unlock()
	// Persist first: a key the file does not hold is never handed out.
	if err := m.persist(snapshot); err != nil {
		return err
	}
	m.mu.Lock()
	m.byN[k.Name], m.byV[k.Value] = &k, &k
	m.mu.Unlock()
	return nil
}

func (m *memKeys) delete(_ context.Context, name string) error {
	m.writeM.Lock()
	defer m.writeM.Unlock()
	m.mu.Lock()
	k := m.byN[name]
	if k == nil {
		m.mu.Unlock()
		return ErrNotFound
	}
	// Refuse the key at once; restore it only if the file cannot be written.
	delete(m.byN, name)
	delete(m.byV, k.Value)
	snapshot := m.snapshotLocked(nil)
	m.mu.Unlock()
	if err := m.persist(snapshot); err != nil {
		m.mu.Lock()
		m.byN[name], m.byV[k.Value] = k, k
		m.mu.Unlock()
		return err
	}
	return nil
}

// snapshotLocked is the key list with add appended; m.mu is held.
func (m *memKeys) snapshotLocked(add *Key) []Key {
	out := make([]Key, 0, len(m.byN)+1)
	for _, k := range m.byN {
		out = append(out, *k)
	}
	if add != nil {
		out = append(out, *add)
	}
	sortKeys(out)
	return out
}

// persist writes keys to m.file atomically: a temporary file in the same
// directory, fsync, rename, fsync of the directory.
func (m *memKeys) persist(keys []Key) error {
	if m.file == "" {
		return nil
	}
	b, err := json.MarshalIndent(dataFile{Keys: keys}, "", "  ")
	if err != nil {
		return fmt.Errorf("api keys: encode: %w", err)
	}
	if err := atomicfile.Write(m.file, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("api keys: %w", err)
	}
	return nil
}

func (m *memKeys) close() error { return nil }

// redisKeys keeps run-time keys in two Redis hashes: PREFIX apikeys:names
// (name -> value) and PREFIX apikeys:values (value -> key JSON).
type redisKeys struct {
	c       *redis.Client
	names   string
	values  string
	timeout time.Duration
	create_ *redis.Script
	delete_ *redis.Script
}

const createScript = `
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return 0 end
if redis.call('HEXISTS', KEYS[2], ARGV[2]) == 1 then return -1 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
return 1
`

const deleteScript = `
local v = redis.call('HGET', KEYS[1], ARGV[1])
if not v then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], v)
return 1
`

func newRedisKeys(c *redisconn.Client, prefix string, timeout time.Duration) *redisKeys {
	return &redisKeys{
		c:       c.Redis(),
		names:   prefix + "apikeys:names",
		values:  prefix + "apikeys:values",
		timeout: timeout,
		create_: redis.NewScript(createScript),
		delete_: redis.NewScript(deleteScript),
	}
}

func (r *redisKeys) fail(op string, err error) error {
	return fmt.Errorf("%w: redis %s: %w", errUnavailable, op, err)
}

func (r *redisKeys) byValue(ctx context.Context, v string) (*Key, error) {
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	b, err := r.c.HGet(ctx, r.values, v).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, r.fail("get key", err)
	}
	var k Key
	if err := json.Unmarshal(b, &k); err != nil {
		return nil, fmt.Errorf("api keys: redis: corrupt key: %w", err)
	}
	k.Value = v
	return &k, nil
}

func (r *redisKeys) byName(ctx context.Context, n string) (*Key, error) {
	ctx2, cancel := context.WithTimeout(ctx, r.timeout)
	v, err := r.c.HGet(ctx2, r.names, n).Result()
	cancel()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, r.fail("get key", err)
	}
	return r.byValue(ctx, v)
}

func (r *redisKeys) create(ctx context.Context, k Key) error {
	b, err := json.Marshal(k)
	if err != nil {
		return fmt.Errorf("api keys: encode: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	n, err := r.create_.Run(ctx, r.c, []string{r.names, r.values}, k.Name, k.Value, b).Int()
	if err != nil {
		return r.fail("create key", err)
	}
	switch n {
	case 0:
		return ErrExists
	case -1:
		return fmt.Errorf("%w (value collision)", ErrExists)
	}
	return nil
}

func (r *redisKeys) delete(ctx context.Context, name string) error {
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	n, err := r.delete_.Run(ctx, r.c, []string{r.names, r.values}, name).Int()
	if err != nil {
		return r.fail("delete key", err)
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

func (r *redisKeys) list(ctx context.Context) ([]Key, error) {
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	m, err := r.c.HGetAll(ctx, r.values).Result()
	if err != nil {
		return nil, r.fail("list keys", err)
	}
	out := make([]Key, 0, len(m))
	for v, b := range m {
		var k Key
		if err := json.Unmarshal([]byte(b), &k); err != nil {
			return nil, fmt.Errorf("api keys: redis: corrupt key: %w", err)
		}
		k.Value = v
		out = append(out, k)
	}
	return out, nil
}

func (r *redisKeys) close() error { return nil } // the client is shared
