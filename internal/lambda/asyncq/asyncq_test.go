package asyncq

import (
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestStores(t *testing.T) {
	stores := []struct {
		name string
		open func(t *testing.T) Store
	}{
		{"memory", func(t *testing.T) Store { return &Memory{} }},
		{"bbolt", func(t *testing.T) Store {
			d, err := Open(filepath.Join(t.TempDir(), "q", "events.db"))
			if err != nil {
				t.Fatal(err)
			}
			return d
		}},
	}
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			s := st.open(t)
			defer s.Close()
			t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
			a := &Event{ID: "a", Function: "f", Payload: []byte(`{"x":1}`), Enqueued: t0.Add(time.Second)}
			b := &Event{ID: "b", Function: "g", Enqueued: t0}
			if err := s.Commit([]*Event{a, b}, nil); err != nil {
				t.Fatal(err)
			}
			a2 := *a
			a2.Attempts = 2
			c := &Event{ID: "c", Function: "f", Enqueued: t0.Add(2 * time.Second)}
			if err := s.Commit([]*Event{&a2, c}, []string{"b"}); err != nil {
				t.Fatal(err)
			}
			got, err := s.Load()
			if err != nil {
				t.Fatal(err)
			}
			want := []string{"a:2", "c:0"}
			if len(got) != len(want) {
				t.Fatalf("got %d events, want %d", len(got), len(want))
			}
			for i, e := range got {
				if k := fmt.Sprintf("%s:%d", e.ID, e.Attempts); k != want[i] {
					t.Errorf("event %d = %s, want %s", i, k, want[i])
				}
			}
			if string(got[0].Payload) != `{"x":1}` || !got[0].Enqueued.Equal(a.Enqueued) {
				t.Errorf("event a = %+v", got[0])
			}
		})
	}
}

// TestReopen: what a Commit wrote is there after the file is reopened.
func TestReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.db")
	d, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Commit([]*Event{{ID: "x", Function: "f", Enqueued: time.Now()}}, nil); err != nil {
		t.Fatal(err)
	}
	d.Close()
	d, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	got, err := d.Load()
	if err != nil || len(got) != 1 || got[0].ID != "x" {
		t.Fatalf("Load = %v, %v; want event x", got, err)
	}
}

// TestOpenTwice: a second Open of a file in use fails, saying why.
func TestOpenTwice(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the 5 s lock timeout")
	}
	path := filepath.Join(t.TempDir(), "events.db")
	d, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, err := Open(path); err == nil || !strings.Contains(err.Error(), "another Portico") {
		t.Errorf("second Open = %v, want a lock error", err)
	}
}

// TestGroupCommit: concurrent commits all land.
func TestGroupCommit(t *testing.T) {
	d, err := Open(filepath.Join(t.TempDir(), "events.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	var wg sync.WaitGroup
	for i := range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := d.Commit([]*Event{{ID: fmt.Sprint(i), Function: "f"}}, nil); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	got, _ := d.Load()
	if len(got) != 200 {
		t.Fatalf("got %d events, want 200", len(got))
	}
}

// BenchmarkDurableQueue measures events through the bbolt store as the
// runner uses it: each event is committed when accepted and removed when
// delivered, both durable (fsync per group commit), from 64 concurrent
// producers. It reports events/s.
func BenchmarkDurableQueue(b *testing.B) {
	d, err := Open(filepath.Join(b.TempDir(), "events.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	payload := []byte(`{"Records":[{"eventVersion":"2.1","eventSource":"aws:s3","s3":{"object":{"key":"docs/a.pdf","size":1024}}}]}`)
	var n atomic.Int64
	b.SetParallelism(32) // 32 producers per GOMAXPROCS
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			id := fmt.Sprintf("ev-%d", n.Add(1))
			if err := d.Commit([]*Event{{ID: id, Function: "f", Payload: payload, Enqueued: time.Now()}}, nil); err != nil {
				b.Error(err)
				return
			}
			if err := d.Commit(nil, []string{id}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
}
