package s3

import "testing"

// FuzzParseCORS: any document either parses into rules that match without
// panicking, or is refused with an S3 error.
func FuzzParseCORS(f *testing.F) {
	f.Add([]byte(`<CORSConfiguration><CORSRule><AllowedOrigin>http://*.a</AllowedOrigin><AllowedMethod>PUT</AllowedMethod><AllowedHeader>x-*</AllowedHeader></CORSRule></CORSConfiguration>`), "http://b.a", "PUT", "x-y")
	f.Add([]byte(`<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod><MaxAgeSeconds>-1</MaxAgeSeconds></CORSRule></CORSConfiguration>`), "", "GET", "")
	f.Fuzz(func(t *testing.T, doc []byte, origin, method, header string) {
		cfg, err := parseCORS(doc)
		if err != nil {
			if _, ok := err.(*apiError); !ok {
				t.Fatalf("error %T %v is not an S3 error", err, err)
			}
			return
		}
		if r := cfg.match(origin, method, []string{header}); r != nil && !anyMatch(r.AllowedMethods, method, false) {
			t.Fatalf("rule %+v matched method %q", r, method)
		}
	})
}

// FuzzCopySourceRange: a range is either refused or lies inside the object.
func FuzzCopySourceRange(f *testing.F) {
	f.Add("bytes=0-9", int64(10))
	f.Add("bytes=5-", int64(10))
	f.Add("bytes=-5", int64(0))
	f.Fuzz(func(t *testing.T, v string, size int64) {
		if size < 0 {
			return
		}
		off, n, err := copySourceRange(v, size)
		if err != nil {
			return
		}
		if off < 0 || n < 0 || off+n > size || (v != "" && n == 0) {
			t.Fatalf("range %q of %d bytes: off %d n %d", v, size, off, n)
		}
	})
}

// FuzzTagsFromHeader: x-amz-tagging either parses into valid tags or is
// refused.
func FuzzTagsFromHeader(f *testing.F) {
	f.Add("a=1&b=2")
	f.Add("a=1&a=2")
	f.Add("%zz")
	f.Fuzz(func(t *testing.T, v string) {
		tags, err := tagsFromHeader(v)
		if err == nil && validTags(tags, 10) != nil {
			t.Fatalf("accepted invalid tags %q", v)
		}
	})
}
