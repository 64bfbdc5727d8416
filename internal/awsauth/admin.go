package awsauth

import (
	"crypto/rand"
	"encoding/base32"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/portico-dev/portico/internal/atomicfile"
)

// AdminFile is the name, in a state directory, of the file holding the
// admin credentials and the admin listener's token (mode 0600).
const AdminFile = "admin.json"

// Admin is what a state directory's AdminFile holds: the access key of
// the admin principal (allowed every operation of the AWS endpoint) and
// the token the admin listener asks for when it is not on loopback.
type Admin struct {
	AccessKeyID     string `json:"accessKeyId"`
	SecretAccessKey string `json:"secretAccessKey"`
	ConsoleToken    string `json:"consoleToken"`
}

// LoadOrCreateAdmin returns the admin credentials of the state directory
// dir, creating them on first use: given values (from the user) win and
// are written to the file; missing ones are the file's, or else generated
// from crypto/rand. The file is written atomically with mode 0600, and an
// existing file that others may read is refused rather than trusted.
func LoadOrCreateAdmin(dir string, given Admin) (Admin, error) {
	if (given.AccessKeyID == "") != (given.SecretAccessKey == "") {
		return Admin{}, errors.New("admin credentials: give both the access key ID and the secret access key, or neither")
	}
	if given.AccessKeyID != "" {
		if err := validKeyID(given.AccessKeyID); err != nil {
			return Admin{}, err
		}
	}
	path := filepath.Join(dir, AdminFile)
	cur, err := ReadAdmin(dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return Admin{}, err
	}
	want := cur
	if given.AccessKeyID != "" {
		want.AccessKeyID, want.SecretAccessKey = given.AccessKeyID, given.SecretAccessKey
	}
	if given.ConsoleToken != "" {
		want.ConsoleToken = given.ConsoleToken
	}
	if want.AccessKeyID == "" {
		want.AccessKeyID = "AKIA" + strings.TrimRight(base32.StdEncoding.EncodeToString(random(10)), "=")
		want.SecretAccessKey = base64.RawStdEncoding.EncodeToString(random(30))
	}
	if want.ConsoleToken == "" {
		want.ConsoleToken = base64.RawURLEncoding.EncodeToString(random(24))
	}
	if want == cur {
		return cur, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Admin{}, fmt.Errorf("admin credentials: %w", err)
	}
	b, _ := json.MarshalIndent(want, "", "  ")
	if err := atomicfile.Write(path, append(b, '\n'), 0o600); err != nil {
		return Admin{}, fmt.Errorf("admin credentials: %w", err)
	}
	return want, nil
}

// ReadAdmin reads dir's AdminFile (fs.ErrNotExist when there is none).
// A file readable or writable by group or others is refused.
func ReadAdmin(dir string) (Admin, error) {
	path := filepath.Join(dir, AdminFile)
	f, err := os.Open(path)
	if err != nil {
		return Admin{}, fmt.Errorf("admin credentials: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return Admin{}, fmt.Errorf("admin credentials: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return Admin{}, fmt.Errorf("admin credentials: %s has mode %v: others may read it; chmod 600 it or remove it to get new credentials", path, fi.Mode().Perm())
	}
	var a Admin
	if err := json.NewDecoder(f).Decode(&a); err != nil {
		return Admin{}, fmt.Errorf("admin credentials: %s: %w", path, err)
	}
	if a.AccessKeyID == "" || a.SecretAccessKey == "" {
		return Admin{}, fmt.Errorf("admin credentials: %s lacks accessKeyId or secretAccessKey", path)
	}
	return a, nil
}

// validKeyID checks a user-given access key ID: 16 to 128 word characters,
// as IAM's AccessKeyId.
func validKeyID(id string) error {
	if len(id) < 16 || len(id) > 128 || strings.IndexFunc(id, func(r rune) bool {
		return !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_')
	}) >= 0 {
		return fmt.Errorf("admin credentials: access key ID %q: want 16 to 128 letters, digits or _", id)
	}
	return nil
}

func random(n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("crypto/rand: " + err.Error()) // never fails on supported systems
	}
	return b
}
