package accesslog

import (
	"io"
	"testing"
)

func benchAppend(b *testing.B, format string) {
	f := mustCompile(b, format)
	r := full()
	buf := make([]byte, 0, 2048)
	b.ReportAllocs()
	for b.Loop() {
		buf = f.Append(buf[:0], r)
	}
	b.SetBytes(int64(len(buf)))
}

func BenchmarkAppendDefault(b *testing.B) { benchAppend(b, "") }
func BenchmarkAppendCLF(b *testing.B)     { benchAppend(b, PresetCLF) }
func BenchmarkAppendJSON(b *testing.B)    { benchAppend(b, PresetJSON) }

func BenchmarkObserve(b *testing.B) {
	s := NewSink(mustCompile(b, ""), io.Discard, Options{})
	defer s.Close()
	r := full()
	b.ReportAllocs()
	for b.Loop() {
		s.Observe(r)
	}
}

func BenchmarkObserveParallel(b *testing.B) {
	s := NewSink(mustCompile(b, ""), io.Discard, Options{})
	defer s.Close()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		r := full()
		for pb.Next() {
			s.Observe(r)
		}
	})
}
