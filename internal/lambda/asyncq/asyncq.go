// Package asyncq keeps Lambda's asynchronous invocations (Event invokes,
// S3 notifications, destination records) on disk until they are done, so
// that an event accepted with 202 survives SIGTERM, SIGKILL and restarts.
//
// A Store holds events, nothing else: scheduling, retries and destinations
// are the runner's (package lambda). Its one write, Commit, adds or replaces
// some events and removes others in one transaction that is on disk when
// Commit returns.
//
// The disk store is bbolt (a B+tree in one memory-mapped file with
// copy-on-write pages and one fsync per transaction): a crash at any point
// leaves either the whole transaction or none of it. Concurrent Commits are
// grouped: while one transaction is being written, the commits that arrive
// wait and are then written together in the next, so N concurrent writers
// pay for one fsync, not N, and a lone writer never waits for a timer.
package asyncq

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Event is one asynchronous invocation waiting to be delivered.
type Event struct {
	// ID is the invocation's request ID (what the 202 answered).
	ID string `json:"id"`
	// Function is the function's name.
	Function  string `json:"function"`
	Qualifier string `json:"qualifier,omitempty"`
	// Payload is the event (JSON).
	Payload []byte `json:"payload,omitempty"`
	TraceID string `json:"traceId,omitempty"`
	// Enqueued is when the event was accepted; its age counts from here.
	Enqueued time.Time `json:"enqueued"`
	// Due is the earliest time of the next attempt.
	Due time.Time `json:"due"`
	// Attempts counts the invocations that reached the function.
	Attempts int `json:"attempts,omitempty"`
	// Throttles counts the attempts that did not reach it (throttled,
	// function not deployed): the exponent of their back-off.
	Throttles int `json:"throttles,omitempty"`
	// FunctionError and Response are the last attempt's outcome, for the
	// failure record.
	FunctionError string `json:"functionError,omitempty"`
	Response      []byte `json:"response,omitempty"`
}

// Store keeps events. Implementations are safe for concurrent use.
type Store interface {
	// Commit writes put (adding or replacing events by ID) and removes the
	// events of del, all or nothing; when it returns nil the change is
	// durable.
	Commit(put []*Event, del []string) error
	// Submit is Commit in two steps: it queues the change behind those
	// submitted before (changes apply in the order submitted) and returns
	// a function that waits until it is durable. A caller may act on the
	// change meanwhile (start delivering an event) but must not report it
	// durable before wait returns nil.
	Submit(put []*Event, del []string) (wait func() error)
	// Load returns every stored event, oldest first.
	Load() ([]*Event, error)
	// Close releases the store.
	Close() error
}

var (
	_ Store = (*DB)(nil)
	_ Store = (*Memory)(nil)
)

var eventsBucket = []byte("events")

// DB is the bbolt Store.
type DB struct {
	db *bolt.DB

	mu      sync.Mutex
	pending []*commit // waiting for the next transaction
	writing bool      // a goroutine is writing transactions
}

type commit struct {
	keys, vals [][]byte // events to put, encoded when submitted
	del        []string
	done       chan error
}

// Open opens (creating it and its directory if needed) the store file at
// path. Only one process may have it open: a second Open waits up to 5s for
// the file lock, then fails.
func Open(path string) (*DB, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("asyncq: %w", err)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 5 * time.Second})
	if errors.Is(err, bolt.ErrTimeout) {
		return nil, fmt.Errorf("asyncq: open %s: another process holds it (is another Portico running on this data directory?): %w", path, err)
	}
	if err != nil {
		return nil, fmt.Errorf("asyncq: open %s: %w", path, err)
	}
	if err := db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(eventsBucket)
		return err
	}); err != nil {
		db.Close()
		return nil, fmt.Errorf("asyncq: open %s: %w", path, err)
	}
	return &DB{db: db}, nil
}

// Commit implements Store with group commit: it joins the next
// transaction and waits for its fsync.
func (d *DB) Commit(put []*Event, del []string) error { return d.Submit(put, del)() }

// Submit implements Store.
func (d *DB) Submit(put []*Event, del []string) (wait func() error) {
	if len(put) == 0 && len(del) == 0 {
		return func() error { return nil }
	}
	// Encode now: the caller may change the events once Submit returns.
	c := &commit{del: del, done: make(chan error, 1)}
	for _, e := range put {
		v, err := json.Marshal(e)
		if err != nil {
			return func() error { return fmt.Errorf("asyncq: event %s: %w", e.ID, err) }
		}
		c.keys, c.vals = append(c.keys, []byte(e.ID)), append(c.vals, v)
	}
	d.mu.Lock()
	d.pending = append(d.pending, c)
	if !d.writing {
		d.writing = true
		go d.write()
	}
	d.mu.Unlock()
	return func() error { return <-c.done }
}

// write writes the pending commits, one transaction per round, until none
// is left.
func (d *DB) write() {
	for {
		d.mu.Lock()
		batch := d.pending
		d.pending = nil
		if len(batch) == 0 {
			d.writing = false
			d.mu.Unlock()
			return
		}
		d.mu.Unlock()
		err := d.db.Update(func(tx *bolt.Tx) error {
			b := tx.Bucket(eventsBucket)
			for _, c := range batch {
				for i, k := range c.keys {
					if err := b.Put(k, c.vals[i]); err != nil {
						return fmt.Errorf("event %s: %w", k, err)
					}
				}
				for _, id := range c.del {
					if err := b.Delete([]byte(id)); err != nil {
						return fmt.Errorf("event %s: %w", id, err)
					}
				}
			}
			return nil
		})
		if err != nil {
			err = fmt.Errorf("asyncq: commit: %w", err)
		}
		for _, c := range batch {
			c.done <- err
		}
	}
}

// Load implements Store.
func (d *DB) Load() ([]*Event, error) {
	var out []*Event
	err := d.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(eventsBucket).ForEach(func(k, v []byte) error {
			e := &Event{}
			if err := json.Unmarshal(v, e); err != nil {
				return fmt.Errorf("event %s: %w", k, err)
			}
			out = append(out, e)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("asyncq: load: %w", err)
	}
	sortOldestFirst(out)
	return out, nil
}

// Close implements Store. Commits must have returned.
func (d *DB) Close() error { return d.db.Close() }

func sortOldestFirst(l []*Event) {
	sort.SliceStable(l, func(i, j int) bool { return l[i].Enqueued.Before(l[j].Enqueued) })
}

// Memory is a Store in memory: events survive nothing but the process. For
// tests and for runs without a state directory.
type Memory struct {
	mu sync.Mutex
	m  map[string]*Event
}

// Commit implements Store.
func (m *Memory) Commit(put []*Event, del []string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.m == nil {
		m.m = map[string]*Event{}
	}
	for _, e := range put {
		if e.ID == "" {
			return errors.New("asyncq: event without an ID")
		}
		cp := *e
		m.m[e.ID] = &cp
	}
	for _, id := range del {
		delete(m.m, id)
	}
	return nil
}

// Submit implements Store: the change is made at once.
func (m *Memory) Submit(put []*Event, del []string) (wait func() error) {
	err := m.Commit(put, del)
	return func() error { return err }
}

// Load implements Store.
func (m *Memory) Load() ([]*Event, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]*Event, 0, len(m.m))
	for _, e := range m.m {
		cp := *e
		out = append(out, &cp)
	}
	sortOldestFirst(out)
	return out, nil
}

// Close implements Store.
func (m *Memory) Close() error { return nil }
