package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/spf13/cobra"
)

const s3Usage = "usage: portico s3 ls [BUCKET[/PREFIX]] | cp SRC DST | rm s3://BUCKET/KEY  (s3://BUCKET/KEY or a local path; - is stdin/stdout)"

// s3Command is `portico s3`: cobra parses its flags into
// s3Flags, then cmdS3 runs.
func s3Command() *cobra.Command {
	f := &s3Flags{}
	cmd := &cobra.Command{
		Use:       "s3 ls [BUCKET[/PREFIX]] | cp SRC DST | rm s3://BUCKET/KEY",
		Short:     "List, copy and remove objects in a running Portico's S3 store",
		Long:      "s3 lists, copies and removes objects through the S3 API of a running `portico up`, signed with\nthe instance's admin credentials unless --access-key and --secret-key are given. SRC and DST are\ns3://BUCKET/KEY or a local path; - is stdin or stdout.",
		Example:   "  portico s3 ls\n  portico s3 cp ./photo.jpg s3://uploads/photo.jpg\n  portico s3 cp s3://uploads/photo.jpg -\n  portico s3 rm s3://uploads/photo.jpg",
		ValidArgs: []string{"ls", "cp", "rm"},
		RunE: func(cmd *cobra.Command, pos []string) error {
			return cmdS3(cmd.Context(), f, pos, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	fs := cmd.Flags()
	f.endpoint = fs.String("endpoint", defaultEndpoint(), "Portico's AWS endpoint")
	f.keyID = fs.String("access-key", "", "access key ID to sign with (default: the instance's admin key)")
	f.secret = fs.String("secret-key", "", "secret access key")
	f.inst = addInstanceFlags(fs, nil)
	f.region = fs.String("region", "us-east-1", "signing region")
	return cmd
}

// s3Flags are the flags of `portico s3`.
type s3Flags struct {
	endpoint *string
	keyID    *string
	secret   *string
	inst     *instanceFlags
	region   *string
}

// cmdS3 lists, copies and removes objects in a running Portico's store
// through the S3 API, with the instance's admin credentials (see
// instanceFlags.client) unless --access-key and --secret-key are given.
func cmdS3(ctx context.Context, f *s3Flags, pos []string, stdout, stderr io.Writer) error {
	endpoint, keyID, secret, inst, region := f.endpoint, f.keyID, f.secret, f.inst, f.region
	if len(pos) == 0 {
		return errors.New(s3Usage)
	}
	if *keyID == "" {
		_, a, err := inst.client()
		if err != nil {
			return err
		}
		*keyID, *secret = a.AccessKeyID, a.SecretAccessKey
	}
	c := s3.New(s3.Options{
		Region:       *region,
		BaseEndpoint: aws.String(*endpoint),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(*keyID, *secret, ""),
	})
	switch pos[0] {
	case "ls":
		if len(pos) > 2 {
			return errors.New(s3Usage)
		}
		target := ""
		if len(pos) == 2 {
			target = strings.TrimPrefix(pos[1], "s3://")
		}
		return s3List(ctx, c, target, stdout)
	case "cp":
		if len(pos) != 3 {
			return errors.New(s3Usage)
		}
		return s3Copy(ctx, c, pos[1], pos[2], stdout)
	case "rm":
		if len(pos) != 2 {
			return errors.New(s3Usage)
		}
		b, k, ok := s3URL(pos[1])
		if !ok || k == "" {
			return fmt.Errorf("rm: %q is not s3://BUCKET/KEY", pos[1])
		}
		if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &b, Key: &k}); err != nil {
			return fmt.Errorf("rm s3://%s/%s: %w", b, k, err)
		}
		fmt.Fprintf(stdout, "delete: s3://%s/%s\n", b, k)
		return nil
	}
	return errors.New(s3Usage)
}

func s3URL(s string) (bucket, key string, ok bool) {
	rest, ok := strings.CutPrefix(s, "s3://")
	if !ok {
		return "", "", false
	}
	bucket, key, _ = strings.Cut(rest, "/")
	return bucket, key, bucket != ""
}

func s3List(ctx context.Context, c *s3.Client, target string, stdout io.Writer) error {
	if target == "" {
		out, err := c.ListBuckets(ctx, &s3.ListBucketsInput{})
		if err != nil {
			return fmt.Errorf("is `portico up` running? %w", err)
		}
		for _, b := range out.Buckets {
			fmt.Fprintf(stdout, "%s  %s\n", aws.ToTime(b.CreationDate).Format("2006-01-02 15:04:05"), aws.ToString(b.Name))
		}
		return nil
	}
	bucket, prefix, _ := strings.Cut(target, "/")
	p := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: &bucket, Prefix: &prefix, Delimiter: aws.String("/")})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("ls s3://%s: %w", target, err)
		}
		for _, cp := range out.CommonPrefixes {
			fmt.Fprintf(stdout, "%30s PRE %s\n", "", strings.TrimPrefix(aws.ToString(cp.Prefix), prefix))
		}
		for _, o := range out.Contents {
			fmt.Fprintf(stdout, "%s %10d %s\n", aws.ToTime(o.LastModified).Format("2006-01-02 15:04:05"), aws.ToInt64(o.Size), strings.TrimPrefix(aws.ToString(o.Key), prefix))
		}
	}
	return nil
}

func s3Copy(ctx context.Context, c *s3.Client, src, dst string, stdout io.Writer) error {
	sb, sk, srcS3 := s3URL(src)
	db, dk, dstS3 := s3URL(dst)
	switch {
	case srcS3 && dstS3:
		if dk == "" || strings.HasSuffix(dk, "/") {
			dk += path.Base(sk)
		}
		_, err := c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: &db, Key: &dk, CopySource: aws.String(sb + "/" + sk)})
		if err != nil {
			return fmt.Errorf("cp %s %s: %w", src, dst, err)
		}
	case srcS3:
		out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: &sb, Key: &sk})
		if err != nil {
			return fmt.Errorf("cp %s: %w", src, err)
		}
		defer out.Body.Close()
		if dst == "-" {
			_, err = io.Copy(stdout, out.Body)
			return err
		}
		if fi, err := os.Stat(dst); err == nil && fi.IsDir() {
			dst = filepath.Join(dst, path.Base(sk))
		}
		f, err := os.Create(dst)
		if err != nil {
			return err
		}
		if _, err := io.Copy(f, out.Body); err != nil {
			f.Close()
			return fmt.Errorf("cp %s %s: %w", src, dst, err)
		}
		if err := f.Close(); err != nil {
			return err
		}
	case dstS3:
		var body io.ReadSeeker
		if src == "-" {
			data, err := io.ReadAll(os.Stdin)
			if err != nil {
				return err
			}
			body = strings.NewReader(string(data))
		} else {
			f, err := os.Open(src)
			if err != nil {
				return err
			}
			defer f.Close()
			body = f
			if dk == "" || strings.HasSuffix(dk, "/") {
				dk += filepath.Base(src)
			}
		}
		if dk == "" {
			return fmt.Errorf("cp: %q names no key", dst)
		}
		if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: &db, Key: &dk, Body: body}); err != nil {
			return fmt.Errorf("cp %s %s: %w", src, dst, err)
		}
	default:
		return errors.New("cp: SRC or DST must be an s3://BUCKET/KEY URL")
	}
	fmt.Fprintf(stdout, "copy: %s to %s\n", src, dst)
	return nil
}
