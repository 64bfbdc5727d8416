package s3

import (
	"crypto/md5"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// upload is the metadata of a multipart upload (upload.json).
type upload struct {
	Key         string            `json:"key"`
	Initiated   time.Time         `json:"initiated"`
	ContentType string            `json:"contentType,omitempty"`
	Headers     map[string]string `json:"headers,omitempty"`
	User        map[string]string `json:"user,omitempty"`
	Tags        []tag             `json:"tags,omitempty"`
	// ChecksumAlgorithm (lower-case) and ChecksumType are the upload's
	// x-amz-checksum-algorithm and -type (checksum.go).
	ChecksumAlgorithm string `json:"checksumAlgorithm,omitempty"`
	ChecksumType      string `json:"checksumType,omitempty"`
}

func (b *bucket) uploadDir(id string) string { return filepath.Join(b.dir, "uploads", id) }

func validUploadID(id string) bool {
	if len(id) != 32 {
		return false
	}
	_, err := hex.DecodeString(id)
	return err == nil
}

// openUpload reads an upload's metadata, checking it belongs to key.
func (c *call) openUpload(b *bucket) (string, *upload, error) {
	id := c.q("uploadId")
	noSuch := errf(404, "NoSuchUpload", "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.")
	if !validUploadID(id) {
		return "", nil, noSuch
	}
	data, err := os.ReadFile(filepath.Join(b.uploadDir(id), "upload.json"))
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil, noSuch
	}
	if err != nil {
		return "", nil, errInternal(err)
	}
	u := &upload{}
	if err := json.Unmarshal(data, u); err != nil {
		return "", nil, errInternal(fmt.Errorf("upload %s: %w", id, err))
	}
	if u.Key != c.key {
		return "", nil, noSuch
	}
	return id, u, nil
}

type initiateResult struct {
	XMLName  xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ InitiateMultipartUploadResult"`
	Bucket   string   `xml:"Bucket"`
	Key      string   `xml:"Key"`
	UploadID string   `xml:"UploadId"`
}

func (s *Server) createMultipartUpload(c *call) error {
	if err := c.authorize("s3:PutObject", c.objectARN()); err != nil {
		return err
	}
	b, err := c.getBucket()
	if err != nil {
		return err
	}
	m := metaFromRequest(c.r.Header)
	tags, err := tagsFromHeader(c.r.Header.Get("x-amz-tagging"))
	if err != nil {
		return err
	}
	alg, typ, err := uploadChecksum(c.r.Header)
	if err != nil {
		return err
	}
	u := upload{Key: c.key, Initiated: s.deps.Now().UTC(), ContentType: m.ContentType, Headers: m.Headers, User: m.User,
		Tags: tags, ChecksumAlgorithm: alg, ChecksumType: typ}
	var raw [16]byte
	rand.Read(raw[:])
	id := hex.EncodeToString(raw[:])
	stage, err := os.MkdirTemp(filepath.Join(b.dir, "tmp"), "u-")
	if err != nil {
		return errInternal(diskErr("create upload", err))
	}
	js, _ := json.Marshal(u)
	if err := writeFileSync(filepath.Join(stage, "upload.json"), js); err != nil {
		os.RemoveAll(stage)
		return errInternal(diskErr("create upload", err))
	}
	if err := os.Rename(stage, b.uploadDir(id)); err != nil {
		os.RemoveAll(stage)
		return errInternal(diskErr("create upload", err))
	}
	syncDir(filepath.Join(b.dir, "uploads"))
	if alg != "" {
		c.w.Header().Set("x-amz-checksum-algorithm", strings.ToUpper(alg))
		c.w.Header().Set("x-amz-checksum-type", typ)
	}
	return writeXML(c.w, http.StatusOK, initiateResult{Bucket: c.bucket, Key: c.key, UploadID: id})
}

func partNumber(v string) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 10000 {
		return 0, errf(400, "InvalidArgument", "Part number must be an integer between 1 and 10000, inclusive")
	}
	return n, nil
}

// uploadPartOrCopy serves PUT ?partNumber&uploadId: UploadPartCopy when
// x-amz-copy-source is set, UploadPart otherwise.
func (s *Server) uploadPartOrCopy(c *call) error {
	if c.r.Header.Get("x-amz-copy-source") != "" {
		return s.uploadPartCopy(c)
	}
	return s.uploadPart(c)
}

func (s *Server) uploadPart(c *call) error {
	if err := c.authorize("s3:PutObject", c.objectARN()); err != nil {
		return err
	}
	b, err := c.getBucket()
	if err != nil {
		return err
	}
	n, err := partNumber(c.q("partNumber"))
	if err != nil {
		return err
	}
	id, u, err := c.openUpload(b)
	if err != nil {
		return err
	}
	if err := checkPartAlgorithm(c.r.Header, u.ChecksumAlgorithm); err != nil {
		return err
	}
	st, d, sums, err := s.receive(c, b, u.ChecksumAlgorithm)
	if err != nil {
		return err
	}
	m := &meta{Size: d.n, ETag: d.etag(), LastModified: s.deps.Now().UTC(), Checksums: sums}
	if err := s.commitPart(b, id, n, st, m); err != nil {
		return err
	}
	c.w.Header().Set("ETag", m.ETag)
	for alg, v := range sums {
		c.w.Header().Set("x-amz-checksum-"+alg, v)
	}
	c.w.WriteHeader(http.StatusOK)
	return nil
}

// commitPart finishes a staged part and renames it into the upload.
func (s *Server) commitPart(b *bucket, id string, n int, st *staged, m *meta) error {
	if err := st.finish(m); err != nil {
		st.abort()
		return errInternal(err)
	}
	dst := filepath.Join(b.uploadDir(id), strconv.Itoa(n))
	if err := os.Rename(st.f.Name(), dst); err != nil {
		st.abort()
		if errors.Is(err, fs.ErrNotExist) {
			return errf(404, "NoSuchUpload", "The specified upload does not exist.")
		}
		return errInternal(diskErr("rename part into place", err))
	}
	if err := syncDir(b.uploadDir(id)); err != nil {
		return errInternal(err)
	}
	return nil
}

type completeRequest struct {
	Parts []struct {
		PartNumber int    `xml:"PartNumber"`
		ETag       string `xml:"ETag"`
		checksumElements
	} `xml:"Part"`
}

type completeResult struct {
	XMLName  xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ CompleteMultipartUploadResult"`
	Location string   `xml:"Location"`
	Bucket   string   `xml:"Bucket"`
	Key      string   `xml:"Key"`
	ETag     string   `xml:"ETag"`
	checksumElements
	ChecksumType string `xml:"ChecksumType,omitempty"`
}

func (s *Server) completeMultipartUpload(c *call) error {
	if err := c.authorize("s3:PutObject", c.objectARN()); err != nil {
		return err
	}
	b, err := c.getBucket()
	if err != nil {
		return err
	}
	id, u, err := c.openUpload(b)
	if err != nil {
		return err
	}
	body, err := s.readSmallBody(c, 4<<20)
	if err != nil {
		return err
	}
	var req completeRequest
	if err := xml.Unmarshal(body, &req); err != nil || len(req.Parts) == 0 {
		return errf(400, "MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema")
	}
	invalidPart := errf(400, "InvalidPart", "One or more of the specified parts could not be found. The part may not have been uploaded, or the specified entity tag may not match the part's entity tag.")
	var files []*os.File
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	if t := strings.ToUpper(c.r.Header.Get("x-amz-checksum-type")); t != "" && u.ChecksumAlgorithm != "" && t != u.ChecksumType {
		return errf(400, "InvalidRequest", "The upload was created using the %s checksum mode. The complete request must use the same checksum mode.", u.ChecksumType)
	}
	alg, typ := u.ChecksumAlgorithm, u.ChecksumType
	if alg == "" {
		alg, typ = "crc64nvme", checksumFullObject // S3's default checksum
	}
	var sizes []int64
	var partSums []string
	allMD5 := md5.New()
	for i, p := range req.Parts {
		if i > 0 && p.PartNumber <= req.Parts[i-1].PartNumber {
			return errf(400, "InvalidPartOrder", "The list of parts was not in ascending order. Parts must be ordered by part number.")
		}
		if p.PartNumber < 1 || p.PartNumber > 10000 {
			return invalidPart
		}
		f, pm, err := openDataFile(filepath.Join(b.uploadDir(id), strconv.Itoa(p.PartNumber)))
		if err != nil {
			return invalidPart
		}
		files = append(files, f)
		if strings.Trim(p.ETag, `"`) != strings.Trim(pm.ETag, `"`) {
			return invalidPart
		}
		if u.ChecksumAlgorithm != "" {
			got := p.get(u.ChecksumAlgorithm)
			if got == "" {
				return errf(400, "InvalidRequest", "The upload was created using a %s checksum. The complete request must include the checksum for each part. It was missing for part %d in the request.", u.ChecksumAlgorithm, p.PartNumber)
			}
			sum := pm.Checksums[u.ChecksumAlgorithm]
			if got != sum || sum == "" {
				return invalidPart
			}
			partSums = append(partSums, sum)
		}
		raw, _ := hex.DecodeString(strings.Trim(pm.ETag, `"`))
		allMD5.Write(raw)
		sizes = append(sizes, pm.Size)
	}
	for i, sz := range sizes[:len(sizes)-1] {
		if sz < s.cfg.MinPartSize {
			return errf(400, "EntityTooSmall", "Your proposed upload is smaller than the minimum allowed object size (part %d is %d bytes).", req.Parts[i].PartNumber, sz)
		}
	}
	st, err := s.store.stage(b)
	if err != nil {
		return errInternal(err)
	}
	var total int64
	var w io.Writer = st
	full := checksumAlgorithms[alg]()
	if typ == checksumFullObject {
		w = io.MultiWriter(st, full)
	}
	for i, f := range files {
		n, err := io.Copy(w, io.LimitReader(f, sizes[i]))
		total += n
		if err != nil {
			st.abort()
			return errInternal(err)
		}
	}
	sum := base64.StdEncoding.EncodeToString(full.Sum(nil))
	if typ == checksumComposite {
		if sum, err = compositeChecksum(alg, partSums); err != nil {
			st.abort()
			return errInternal(err)
		}
	}
	if want := c.r.Header.Get("x-amz-checksum-" + alg); want != "" && want != sum {
		st.abort()
		return errf(400, "BadDigest", "The %s you specified did not match the calculated checksum.", strings.ToUpper(alg))
	}
	m := &meta{Key: u.Key, Size: total, ContentType: u.ContentType, Headers: u.Headers, User: u.User, Tags: u.Tags,
		ETag: fmt.Sprintf(`"%s-%d"`, hex.EncodeToString(allMD5.Sum(nil)), len(files)), Parts: len(files),
		PartSizes: sizes, LastModified: s.deps.Now().UTC(), Checksums: map[string]string{alg: sum}}
	if typ == checksumComposite {
		m.ChecksumType = checksumComposite
	}
	if err := s.commit(b, st, m); err != nil {
		return err
	}
	s.removeUpload(b, id)
	if err := s.notify(c, eventComplete, c.key, m); err != nil {
		return err
	}
	res := completeResult{Location: "/" + c.bucket + "/" + c.key, Bucket: c.bucket, Key: c.key, ETag: m.ETag,
		checksumElements: newChecksumElements(m.Checksums), ChecksumType: typ}
	return writeXML(c.w, http.StatusOK, res)
}

// removeUpload moves an upload's directory out of uploads/ (atomic) and
// deletes it.
func (s *Server) removeUpload(b *bucket, id string) error {
	trash := filepath.Join(b.dir, "tmp", "del-"+id)
	if err := os.Rename(b.uploadDir(id), trash); err != nil {
		return err
	}
	syncDir(filepath.Join(b.dir, "uploads"))
	return os.RemoveAll(trash)
}

func (s *Server) abortMultipartUpload(c *call) error {
	if err := c.authorize("s3:AbortMultipartUpload", c.objectARN()); err != nil {
		return err
	}
	b, err := c.getBucket()
	if err != nil {
		return err
	}
	id, _, err := c.openUpload(b)
	if err != nil {
		return err
	}
	if err := s.removeUpload(b, id); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return errf(404, "NoSuchUpload", "The specified upload does not exist.")
		}
		return errInternal(err)
	}
	c.w.WriteHeader(http.StatusNoContent)
	return nil
}

type partInfo struct {
	PartNumber   int    `xml:"PartNumber"`
	LastModified string `xml:"LastModified"`
	ETag         string `xml:"ETag"`
	Size         int64  `xml:"Size"`
	checksumElements
}

type listPartsResult struct {
	XMLName              xml.Name   `xml:"http://s3.amazonaws.com/doc/2006-03-01/ ListPartsResult"`
	Bucket               string     `xml:"Bucket"`
	Key                  string     `xml:"Key"`
	UploadID             string     `xml:"UploadId"`
	PartNumberMarker     int        `xml:"PartNumberMarker"`
	NextPartNumberMarker int        `xml:"NextPartNumberMarker"`
	MaxParts             int        `xml:"MaxParts"`
	IsTruncated          bool       `xml:"IsTruncated"`
	StorageClass         string     `xml:"StorageClass"`
	ChecksumAlgorithm    string     `xml:"ChecksumAlgorithm,omitempty"`
	ChecksumType         string     `xml:"ChecksumType,omitempty"`
	Parts                []partInfo `xml:"Part"`
}

func (s *Server) listParts(c *call) error {
	if err := c.authorize("s3:ListMultipartUploadParts", c.objectARN()); err != nil {
		return err
	}
	b, err := c.getBucket()
	if err != nil {
		return err
	}
	id, u, err := c.openUpload(b)
	if err != nil {
		return err
	}
	max := 1000
	if v := c.q("max-parts"); v != "" {
		if max, err = strconv.Atoi(v); err != nil || max < 0 {
			return errf(400, "InvalidArgument", "max-parts must be a non-negative integer")
		}
		max = min(max, 1000)
	}
	marker := 0
	if v := c.q("part-number-marker"); v != "" {
		if marker, err = strconv.Atoi(v); err != nil || marker < 0 {
			return errf(400, "InvalidArgument", "part-number-marker must be a non-negative integer")
		}
	}
	ents, err := os.ReadDir(b.uploadDir(id))
	if err != nil {
		return errInternal(err)
	}
	var nums []int
	for _, e := range ents {
		if n, err := strconv.Atoi(e.Name()); err == nil && n > marker {
			nums = append(nums, n)
		}
	}
	sort.Ints(nums)
	res := listPartsResult{Bucket: c.bucket, Key: c.key, UploadID: id, PartNumberMarker: marker, MaxParts: max, StorageClass: "STANDARD",
		ChecksumAlgorithm: strings.ToUpper(u.ChecksumAlgorithm), ChecksumType: u.ChecksumType}
	for _, n := range nums {
		if len(res.Parts) == max {
			res.IsTruncated = true
			break
		}
		pm, err := readMetaFile(filepath.Join(b.uploadDir(id), strconv.Itoa(n)))
		if err != nil {
			continue
		}
		res.Parts = append(res.Parts, partInfo{PartNumber: n, LastModified: pm.LastModified.Format("2006-01-02T15:04:05.000Z"), ETag: pm.ETag, Size: pm.Size,
			checksumElements: newChecksumElements(map[string]string{u.ChecksumAlgorithm: pm.Checksums[u.ChecksumAlgorithm]})})
		res.NextPartNumberMarker = n
	}
	return writeXML(c.w, http.StatusOK, res)
}

type uploadInfo struct {
	Key          string `xml:"Key"`
	UploadID     string `xml:"UploadId"`
	Initiated    string `xml:"Initiated"`
	StorageClass string `xml:"StorageClass"`
}

type listUploadsResult struct {
	XMLName     xml.Name     `xml:"http://s3.amazonaws.com/doc/2006-03-01/ ListMultipartUploadsResult"`
	Bucket      string       `xml:"Bucket"`
	Prefix      string       `xml:"Prefix"`
	MaxUploads  int          `xml:"MaxUploads"`
	IsTruncated bool         `xml:"IsTruncated"`
	Uploads     []uploadInfo `xml:"Upload"`
}

func (s *Server) listMultipartUploads(c *call) error {
	if err := c.authorize("s3:ListBucketMultipartUploads", c.bucketARN()); err != nil {
		return err
	}
	b, err := c.getBucket()
	if err != nil {
		return err
	}
	prefix := c.q("prefix")
	ents, err := os.ReadDir(filepath.Join(b.dir, "uploads"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return errInternal(err)
	}
	res := listUploadsResult{Bucket: c.bucket, Prefix: prefix, MaxUploads: 1000}
	for _, e := range ents {
		data, err := os.ReadFile(filepath.Join(b.dir, "uploads", e.Name(), "upload.json"))
		if err != nil {
			continue
		}
		var u upload
		if json.Unmarshal(data, &u) != nil || !strings.HasPrefix(u.Key, prefix) {
			continue
		}
		res.Uploads = append(res.Uploads, uploadInfo{Key: u.Key, UploadID: e.Name(), Initiated: u.Initiated.Format("2006-01-02T15:04:05.000Z"), StorageClass: "STANDARD"})
	}
	sort.Slice(res.Uploads, func(i, j int) bool {
		if res.Uploads[i].Key != res.Uploads[j].Key {
			return res.Uploads[i].Key < res.Uploads[j].Key
		}
		return res.Uploads[i].Initiated < res.Uploads[j].Initiated
	})
	if len(res.Uploads) > 1000 {
		res.Uploads, res.IsTruncated = res.Uploads[:1000], true
	}
	return writeXML(c.w, http.StatusOK, res)
}
