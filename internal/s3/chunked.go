package s3

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"strconv"
	"strings"

	"github.com/portico-dev/portico/internal/sigv4"
)

// maxChunkSize bounds one aws-chunked chunk (the SDKs send 64 KiB to
// 1 MiB; S3 accepts up to 16 MiB per chunk as well).
const maxChunkSize = 16 << 20

// chunkedReader decodes an aws-chunked body:
//
//	hex-size[;chunk-signature=SIG]\r\n DATA \r\n ... 0[;chunk-signature=SIG]\r\n
//	[trailer-name:value\r\n ... [x-amz-trailer-signature:SIG\r\n]] \r\n
//
// With signed chunks every chunk signature is checked, chained from the
// seed signature; the data of a chunk is passed on while it is hashed and
// its signature is checked when the chunk ends, before the next byte is
// returned (so a bad chunk fails the read and the staged upload is
// discarded). Trailers are collected in trailers; with the signed trailer
// variant their signature is checked too.
type chunkedReader struct {
	br       *bufio.Reader
	id       *sigv4.Identity
	signed   bool
	trailer  bool // a trailer section is expected (the -TRAILER variants)
	prev     string
	remain   int64 // bytes left in the current chunk
	chunkSig string
	h        hash.Hash
	done     bool
	err      error
	trailers map[string]string
	decoded  int64
}

var errChunkFormat = errors.New("malformed aws-chunked body")

func newChunkedReader(r io.Reader, id *sigv4.Identity, signed, trailer bool) *chunkedReader {
	cr := &chunkedReader{br: bufio.NewReaderSize(r, 64<<10), id: id, signed: signed, trailer: trailer, trailers: map[string]string{}}
	if signed {
		cr.prev = id.Signature
		cr.h = sha256.New()
	}
	return cr
}

func (cr *chunkedReader) Read(p []byte) (int, error) {
	if cr.err != nil {
		return 0, cr.err
	}
	for cr.remain == 0 {
		if cr.done {
			return 0, io.EOF
		}
		if err := cr.nextChunk(); err != nil {
			cr.err = err
			return 0, err
		}
	}
	if int64(len(p)) > cr.remain {
		p = p[:cr.remain]
	}
	n, err := cr.br.Read(p)
	cr.remain -= int64(n)
	cr.decoded += int64(n)
	if cr.signed {
		cr.h.Write(p[:n])
	}
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		cr.err = err
		return n, err
	}
	if cr.remain == 0 {
		if err := cr.endChunk(false); err != nil {
			cr.err = err
			return n, err
		}
	}
	return n, nil
}

func (cr *chunkedReader) line() (string, error) {
	s, err := cr.br.ReadString('\n')
	if err != nil {
		if err == io.EOF {
			return "", io.ErrUnexpectedEOF
		}
		return "", err
	}
	if len(s) > 4096 {
		return "", fmt.Errorf("%w: header line too long", errChunkFormat)
	}
	return strings.TrimRight(s, "\r\n"), nil
}

func (cr *chunkedReader) nextChunk() error {
	ln, err := cr.line()
	if err != nil {
		return err
	}
	sizeStr, ext, _ := strings.Cut(ln, ";")
	size, err := strconv.ParseInt(strings.TrimSpace(sizeStr), 16, 64)
	if err != nil || size < 0 || size > maxChunkSize {
		return fmt.Errorf("%w: bad chunk size %.20q", errChunkFormat, sizeStr)
	}
	cr.chunkSig = ""
	if cr.signed {
		sig, ok := strings.CutPrefix(ext, "chunk-signature=")
		if !ok || len(sig) != 64 {
			return fmt.Errorf("%w: chunk lacks chunk-signature", errSignature)
		}
		cr.chunkSig = sig
		cr.h.Reset()
	}
	cr.remain = size
	if size == 0 {
		if err := cr.endChunk(true); err != nil {
			return err
		}
		cr.done = true
		return cr.readTrailers()
	}
	return nil
}

var errSignature = errors.New("chunk signature does not match")

// endChunk checks the chunk signature and, after a data chunk, consumes
// the CRLF that follows the data.
func (cr *chunkedReader) endChunk(final bool) error {
	if cr.signed {
		want := chunkSignature(cr.id, cr.prev, hex.EncodeToString(cr.h.Sum(nil)))
		if !hmac.Equal([]byte(want), []byte(cr.chunkSig)) {
			return errSignature
		}
		cr.prev = cr.chunkSig
	}
	if final {
		return nil
	}
	var crlf [2]byte
	if _, err := io.ReadFull(cr.br, crlf[:]); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return err
	}
	if crlf != [2]byte{'\r', '\n'} {
		return fmt.Errorf("%w: chunk data not followed by CRLF", errChunkFormat)
	}
	return nil
}

// chunkSignature is the signature of an aws-chunked chunk whose SHA-256 is
// chunkHash, chained from previous (AWS's STREAMING-AWS4-HMAC-SHA256-PAYLOAD
// string to sign).
func chunkSignature(id *sigv4.Identity, previous, chunkHash string) string {
	const emptyHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	sts := "AWS4-HMAC-SHA256-PAYLOAD\n" + id.SignedAt.UTC().Format("20060102T150405Z") + "\n" + id.Scope + "\n" +
		previous + "\n" + emptyHash + "\n" + chunkHash
	m := hmac.New(sha256.New, id.SigningKey)
	m.Write([]byte(sts))
	return hex.EncodeToString(m.Sum(nil))
}

func (cr *chunkedReader) readTrailers() error {
	var raw bytes.Buffer
	for {
		ln, err := cr.line()
		if err == io.ErrUnexpectedEOF && raw.Len() == 0 && !cr.trailer {
			break // tolerate a body that ends right after the final chunk line
		}
		if err != nil {
			return err
		}
		if ln == "" {
			break
		}
		name, val, ok := strings.Cut(ln, ":")
		if !ok {
			return fmt.Errorf("%w: bad trailer line", errChunkFormat)
		}
		name = strings.ToLower(strings.TrimSpace(name))
		val = strings.TrimSpace(val)
		if name == "x-amz-trailer-signature" {
			if !cr.signed {
				return fmt.Errorf("%w: trailer signature on an unsigned body", errChunkFormat)
			}
			want := cr.id.TrailerSignature(cr.prev, raw.Bytes())
			if !hmac.Equal([]byte(want), []byte(val)) {
				return errSignature
			}
			cr.trailers[name] = val
			continue
		}
		raw.WriteString(name + ":" + val + "\n")
		cr.trailers[name] = val
	}
	if cr.signed && cr.trailer && raw.Len() > 0 && cr.trailers["x-amz-trailer-signature"] == "" {
		return fmt.Errorf("%w: trailers lack x-amz-trailer-signature", errSignature)
	}
	return nil
}
