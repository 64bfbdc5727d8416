package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/portico-dev/portico/internal/atomicfile"
)

const caseList = "ListObjectsV2: one page of 1 000 over 100 000 keys (go test -bench)"

// diskPut writes b as the store does: temp file, fsync, rename, dir fsync.
func diskPut(dir string, b []byte) error {
	return atomicfile.Write(filepath.Join(dir, "object"), b, 0o600)
}

// timedOps runs op at least once and until d has passed; it returns MiB/s.
func timedOps(d time.Duration, size int, op func() error) (float64, error) {
	t0 := time.Now()
	n := 0
	for n == 0 || time.Since(t0) < d {
		if err := op(); err != nil {
			return 0, err
		}
		n++
	}
	return float64(n*size) / (1 << 20) / time.Since(t0).Seconds(), nil
}

func (h *harness) storage(ctx context.Context) (*Scenario, error) {
	s := &Scenario{ID: "storage", Title: "Storage: PUT/GET through the S3 endpoint vs the raw disk"}
	if h.porticoBin == "" {
		return s, errUnavailable{"the portico binary (" + h.porticoWhy + ")"}
	}
	s.Notes = append(s.Notes,
		"Portico: aws-sdk-go-v2's S3 client (path-style, admin credentials, checksums only when required, payload signed with SHA-256 as the SDK does over http) against `portico up` with one bucket, its data directory under the harness's work directory.",
		"Baseline `disk`: the same bytes written to a file in the same work directory (temp file, fsync, rename, directory fsync, as the store does) and read back whole. Both reads come from the page cache.",
		"Each round repeats the operation for the round's duration (at least once); figure: MiB/s.")
	dataDir := filepath.Join(h.work, "storage", "data")
	spec := filepath.Join(h.work, "storage", "portico.yaml")
	if err := writeFile(spec, "buckets:\n  bench: {}\n"); err != nil {
		return s, err
	}
	pt, err := startPortico(ctx, h.cl, h.porticoBin, spec, "--data-dir", dataDir)
	if err != nil {
		return s, err
	}
	cl := s3.New(s3.Options{
		Region:                     "us-east-1",
		BaseEndpoint:               aws.String(pt.aws),
		UsePathStyle:               true,
		Credentials:                credentials.NewStaticCredentialsProvider(pt.admin.AccessKeyID, pt.admin.SecretAccessKey, ""),
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
	})
	diskDir := filepath.Join(h.work, "storage", "disk")
	if err := os.MkdirAll(diskDir, 0o755); err != nil {
		return s, err
	}
	for _, sz := range []struct {
		label string
		n     int
	}{{"1 MiB", 1 << 20}, {"64 MiB", 64 << 20}} {
		body := make([]byte, sz.n)
		_, _ = rand.Read(body)
		key := "obj-" + sz.label
		put := func() error {
			_, err := cl.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("bench"), Key: aws.String(key), Body: bytes.NewReader(body), ContentLength: aws.Int64(int64(sz.n))})
			return err
		}
		get := func() error {
			out, err := cl.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("bench"), Key: aws.String(key)})
			if err != nil {
				return err
			}
			defer out.Body.Close()
			n, err := io.Copy(io.Discard, out.Body)
			if err == nil && n != int64(sz.n) {
				err = fmt.Errorf("get %s: %d bytes, want %d", key, n, sz.n)
			}
			return err
		}
		dput := func() error { return diskPut(diskDir, body) }
		dget := func() error {
			b, err := os.ReadFile(filepath.Join(diskDir, "object"))
			if err == nil && len(b) != sz.n {
				err = fmt.Errorf("read: %d bytes", len(b))
			}
			return err
		}
		pc := &Case{Name: "PUT " + sz.label, Baseline: "disk", Metrics: []string{mMiBps}}
		gc := &Case{Name: "GET " + sz.label, Baseline: "disk", Metrics: []string{mMiBps}}
		for round := range h.rounds {
			h.logf("  storage / %s, round %d", sz.label, round+1)
			for _, op := range []struct {
				c    *Case
				name string
				fn   func() error
			}{{pc, "disk", dput}, {pc, "portico", put}, {gc, "disk", dget}, {gc, "portico", get}} {
				v, err := timedOps(h.dur, sz.n, op.fn)
				if err != nil {
					return s, fmt.Errorf("%s %s: %w", op.c.Name, op.name, err)
				}
				op.c.series(op.name).add(mMiBps, v)
			}
		}
		s.Cases = append(s.Cases, pc, gc)
	}
	if fileExists(h.path("internal/s3/bench_test.go")) {
		line, lines, err := h.goBench(ctx, "^BenchmarkListObjectsV2$", "./internal/s3/")
		s.Commands = append(s.Commands, line)
		if err != nil {
			return s, err
		}
		c, missing := benchCase(caseList, lines, []string{"BenchmarkListObjectsV2"}, map[string]string{"BenchmarkListObjectsV2": "ListObjectsV2 page"})
		for _, m := range missing {
			c.Notes = append(c.Notes, "no result line for "+m)
		}
		s.Cases = append(s.Cases, c)
	}
	return s, nil
}
