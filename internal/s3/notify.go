package s3

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
)

// Event notifications to Lambda functions, as S3 sends them: a bucket's
// notification configuration (PutBucketNotificationConfiguration, or the
// spec through SetNotifications) lists functions, event types and key
// filters; each object created or removed that matches a configuration
// becomes one event record, handed to Deps.Notifier before the request is
// answered (the Notifier queues it durably; the function runs later).

// Notifier delivers event notifications to functions.
type Notifier interface {
	// AllowsS3 reports whether S3 may invoke the function (an ARN) for
	// bucket: it exists and its resource policy allows s3.amazonaws.com
	// from arn:aws:s3:::bucket.
	AllowsS3(functionARN, bucket string) bool
	// Notify queues an asynchronous invocation of the function with
	// payload; when it returns nil the event is kept until delivered.
	Notify(ctx context.Context, functionARN string, payload []byte) error
}

// Notification is one LambdaFunctionConfiguration of a bucket.
type Notification struct {
	ID          string   `json:"id"`
	FunctionARN string   `json:"functionArn"`
	Events      []string `json:"events"`
	Prefix      string   `json:"prefix,omitempty"`
	Suffix      string   `json:"suffix,omitempty"`
}

// NotificationEvents are the event types Portico emits (and accepts in a
// configuration).
var NotificationEvents = []string{
	"s3:ObjectCreated:*", "s3:ObjectCreated:Put", "s3:ObjectCreated:Post", "s3:ObjectCreated:Copy",
	"s3:ObjectCreated:CompleteMultipartUpload",
	"s3:ObjectRemoved:*", "s3:ObjectRemoved:Delete", "s3:ObjectRemoved:DeleteMarkerCreated",
}

// matches reports whether an event name (without "s3:") and key select n.
func (n *Notification) matches(event, key string) bool {
	if !strings.HasPrefix(key, n.Prefix) || !strings.HasSuffix(key, n.Suffix) {
		return false
	}
	family, _, _ := strings.Cut(event, ":")
	for _, e := range n.Events {
		if e == "s3:"+event || e == "s3:"+family+":*" {
			return true
		}
	}
	return false
}

// notifications holds each bucket's configuration; the bucket's
// notification.json keeps it across restarts. Keyed by *bucket, so that a
// bucket deleted and created again starts with none.
type notifications struct {
	mu  sync.Mutex
	m   map[*bucket][]Notification
	seq uint64 // last sequencer value
}

const notificationFile = "notification.json"

// loadNotifications reads every bucket's configuration.
func (s *Server) loadNotifications() error {
	s.notes.m = map[*bucket][]Notification{}
	for _, b := range s.store.list() {
		data, err := os.ReadFile(filepath.Join(b.dir, notificationFile))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		var list []Notification
		if err == nil {
			err = json.Unmarshal(data, &list)
		}
		if err != nil {
			return fmt.Errorf("s3 store: bucket %s: %s: %w", b.name, notificationFile, err)
		}
		s.notes.m[b] = list
	}
	return nil
}

// Notifications returns a bucket's configuration.
func (s *Server) Notifications(bucketName string) ([]Notification, error) {
	b, ok := s.store.bucket(bucketName)
	if !ok {
		return nil, fmt.Errorf("bucket %s: %w", bucketName, errNoBucket)
	}
	s.notes.mu.Lock()
	defer s.notes.mu.Unlock()
	return slices.Clone(s.notes.m[b]), nil
}

// SetNotifications replaces a bucket's configuration after checking it as
// PutBucketNotificationConfiguration does (event types, destinations the
// Notifier allows).
func (s *Server) SetNotifications(bucketName string, list []Notification) error {
	b, ok := s.store.bucket(bucketName)
	if !ok {
		return fmt.Errorf("bucket %s: %w", bucketName, errNoBucket)
	}
	if err := s.checkNotifications(bucketName, list); err != nil {
		return fmt.Errorf("bucket %s: %w", bucketName, err)
	}
	return s.setNotifications(b, list)
}

func (s *Server) setNotifications(b *bucket, list []Notification) error {
	data, _ := json.Marshal(list)
	s.notes.mu.Lock()
	defer s.notes.mu.Unlock()
	if err := writeFileAtomic(filepath.Join(b.dir, "tmp"), filepath.Join(b.dir, notificationFile), data); err != nil {
		return errInternal(err)
	}
	s.notes.m[b] = slices.Clone(list)
	return nil
}

// checkNotifications validates a configuration as S3 does.
func (s *Server) checkNotifications(bucketName string, list []Notification) error {
	ids := map[string]bool{}
	var bad []string
	for _, n := range list {
		if len(n.Events) == 0 {
			return errf(400, "InvalidArgument", "A notification configuration must name at least one event.")
		}
		for _, e := range n.Events {
			if !slices.Contains(NotificationEvents, e) {
				return errf(400, "InvalidArgument", "The event is not supported for notifications: %s (Portico emits %s)", e, strings.Join(NotificationEvents, ", "))
			}
		}
		if ids[n.ID] {
			return errf(400, "InvalidArgument", "Same ID used for multiple configurations. IDs must be unique: %s", n.ID)
		}
		ids[n.ID] = true
		if s.deps.Notifier == nil || !s.deps.Notifier.AllowsS3(n.FunctionARN, bucketName) {
			bad = append(bad, n.FunctionARN)
		}
	}
	for i := range list {
		for j := range i {
			if overlap(list[i], list[j]) {
				return errf(400, "InvalidArgument", "Configuration is ambiguously defined. Cannot have overlapping suffixes in two rules if the prefixes are overlapping for the same event type.")
			}
		}
	}
	if len(bad) > 0 {
		return errf(400, "InvalidArgument", "Unable to validate the following destination configurations: %s", strings.Join(bad, ", "))
	}
	return nil
}

// overlap reports whether a key could match both configurations for one
// event type, which S3 refuses.
func overlap(a, b Notification) bool {
	shared := false
	for _, ea := range a.Events {
		for _, eb := range b.Events {
			fa, _, _ := strings.Cut(strings.TrimPrefix(ea, "s3:"), ":")
			fb, _, _ := strings.Cut(strings.TrimPrefix(eb, "s3:"), ":")
			shared = shared || ea == eb || fa == fb && (strings.HasSuffix(ea, ":*") || strings.HasSuffix(eb, ":*"))
		}
	}
	prefixes := strings.HasPrefix(a.Prefix, b.Prefix) || strings.HasPrefix(b.Prefix, a.Prefix)
	suffixes := strings.HasSuffix(a.Suffix, b.Suffix) || strings.HasSuffix(b.Suffix, a.Suffix)
	return shared && prefixes && suffixes
}

// The S3 XML of a notification configuration.
type notificationConfiguration struct {
	XMLName xml.Name `xml:"NotificationConfiguration"`
	Xmlns   string   `xml:"xmlns,attr,omitempty"`
	// Lambdas are the LambdaFunctionConfigurations: S3's wire name for
	// them is CloudFunctionConfiguration; LambdaFunctionConfiguration is
	// accepted too.
	Lambdas  []lambdaFunctionXML `xml:"CloudFunctionConfiguration"`
	Lambdas2 []lambdaFunctionXML `xml:"LambdaFunctionConfiguration"`
	Topics   []struct{}          `xml:"TopicConfiguration"`
	Queues   []struct{}          `xml:"QueueConfiguration"`
	EventBus *struct{}           `xml:"EventBridgeConfiguration"`
}

type lambdaFunctionXML struct {
	ID       string       `xml:"Id,omitempty"`
	Function string       `xml:"CloudFunction"`
	Events   []string     `xml:"Event"`
	Rules    []filterRule `xml:"Filter>S3Key>FilterRule,omitempty"`
}

type filterRule struct {
	Name  string `xml:"Name"`
	Value string `xml:"Value"`
}

// putBucketNotification is PutBucketNotificationConfiguration.
func (s *Server) putBucketNotification(c *call) error {
	if err := c.authorize("s3:PutBucketNotification", c.bucketARN()); err != nil {
		return err
	}
	b, err := c.getBucket()
	if err != nil {
		return err
	}
	body, err := s.readSmallBody(c, 1<<20)
	if err != nil {
		return err
	}
	malformed := errf(400, "MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema")
	var in notificationConfiguration
	if err := xml.Unmarshal(body, &in); err != nil {
		return malformed
	}
	if len(in.Topics) > 0 || len(in.Queues) > 0 || in.EventBus != nil {
		return errf(400, "InvalidArgument", "Unable to validate the following destination configurations: Portico delivers notifications to Lambda functions only (LambdaFunctionConfiguration)")
	}
	list := make([]Notification, 0, len(in.Lambdas)+len(in.Lambdas2))
	for _, l := range append(in.Lambdas, in.Lambdas2...) {
		n := Notification{ID: l.ID, FunctionARN: l.Function, Events: l.Events}
		if n.ID == "" {
			n.ID = randomID()
		}
		if n.FunctionARN == "" {
			return malformed
		}
		for _, r := range l.Rules {
			switch strings.ToLower(r.Name) {
			case "prefix":
				if n.Prefix != "" {
					return errf(400, "InvalidArgument", "Cannot specify more than one prefix rule in a filter.")
				}
				n.Prefix = r.Value
			case "suffix":
				if n.Suffix != "" {
					return errf(400, "InvalidArgument", "Cannot specify more than one suffix rule in a filter.")
				}
				n.Suffix = r.Value
			default:
				return errf(400, "InvalidArgument", "filter rule name must be either prefix or suffix")
			}
		}
		list = append(list, n)
	}
	if err := s.checkNotifications(c.bucket, list); err != nil {
		return err
	}
	if err := s.setNotifications(b, list); err != nil {
		return err
	}
	c.w.WriteHeader(http.StatusOK)
	return nil
}

// getBucketNotification is GetBucketNotificationConfiguration.
func (s *Server) getBucketNotification(c *call) error {
	if err := c.authorize("s3:GetBucketNotification", c.bucketARN()); err != nil {
		return err
	}
	b, err := c.getBucket()
	if err != nil {
		return err
	}
	s.notes.mu.Lock()
	list := slices.Clone(s.notes.m[b])
	s.notes.mu.Unlock()
	out := notificationConfiguration{Xmlns: "http://s3.amazonaws.com/doc/2006-03-01/"}
	for _, n := range list {
		l := lambdaFunctionXML{ID: n.ID, Function: n.FunctionARN, Events: n.Events}
		if n.Prefix != "" {
			l.Rules = append(l.Rules, filterRule{Name: "Prefix", Value: n.Prefix})
		}
		if n.Suffix != "" {
			l.Rules = append(l.Rules, filterRule{Name: "Suffix", Value: n.Suffix})
		}
		out.Lambdas = append(out.Lambdas, l)
	}
	return writeXML(c.w, http.StatusOK, out)
}

func randomID() string {
	var b [16]byte
	rand.Read(b[:])
	return base64.RawStdEncoding.EncodeToString(b[:])
}

// The event record, field for field as S3 sends it.
type eventMessage struct {
	Records []eventRecord `json:"Records"`
}

type eventRecord struct {
	EventVersion      string      `json:"eventVersion"`
	EventSource       string      `json:"eventSource"`
	AWSRegion         string      `json:"awsRegion"`
	EventTime         string      `json:"eventTime"`
	EventName         string      `json:"eventName"`
	UserIdentity      principalID `json:"userIdentity"`
	RequestParameters struct {
		SourceIPAddress string `json:"sourceIPAddress"`
	} `json:"requestParameters"`
	ResponseElements struct {
		RequestID string `json:"x-amz-request-id"`
		HostID    string `json:"x-amz-id-2"`
	} `json:"responseElements"`
	S3 eventS3 `json:"s3"`
}

type principalID struct {
	PrincipalID string `json:"principalId"`
}

type eventS3 struct {
	SchemaVersion   string      `json:"s3SchemaVersion"`
	ConfigurationID string      `json:"configurationId"`
	Bucket          eventBucket `json:"bucket"`
	Object          eventObject `json:"object"`
}

type eventBucket struct {
	Name          string      `json:"name"`
	OwnerIdentity principalID `json:"ownerIdentity"`
	ARN           string      `json:"arn"`
}

type eventObject struct {
	Key       string `json:"key"`
	Size      *int64 `json:"size,omitempty"`
	ETag      string `json:"eTag,omitempty"`
	Sequencer string `json:"sequencer"`
}

// Event names (eventName, without the "s3:" prefix).
const (
	eventPut      = "ObjectCreated:Put"
	eventCopy     = "ObjectCreated:Copy"
	eventComplete = "ObjectCreated:CompleteMultipartUpload"
	eventDelete   = "ObjectRemoved:Delete"
)

// ownerPrincipal is the principal ID of the (one, local) bucket owner.
const ownerPrincipal = "portico"

// notify sends the event of the request c (created object m, or a
// removed key with m nil) to every matching configuration of the bucket.
// A failure to queue is the request's failure (503 SlowDown): an event
// must not be lost once its write is acknowledged.
func (s *Server) notify(c *call, event, key string, m *meta) error {
	b, ok := s.store.bucket(c.bucket)
	if !ok {
		return nil
	}
	s.notes.mu.Lock()
	list := s.notes.m[b]
	var matched []Notification
	for _, n := range list {
		if n.matches(event, key) {
			matched = append(matched, n)
		}
	}
	if len(matched) == 0 {
		s.notes.mu.Unlock()
		return nil
	}
	seq := uint64(s.deps.Now().UnixNano())
	if seq <= s.notes.seq {
		seq = s.notes.seq + 1
	}
	s.notes.seq = seq
	s.notes.mu.Unlock()
	if s.deps.Notifier == nil {
		return nil
	}
	ip := c.r.RemoteAddr
	if h, _, err := net.SplitHostPort(ip); err == nil {
		ip = h
	}
	obj := eventObject{Key: EncodeEventKey(key), Sequencer: fmt.Sprintf("%018X", seq)}
	if m != nil {
		size := m.Size
		obj.Size, obj.ETag = &size, strings.Trim(m.ETag, `"`)
	}
	rec := eventRecord{
		EventVersion: "2.1",
		EventSource:  "aws:s3",
		AWSRegion:    s.cfg.Region,
		EventTime:    s.deps.Now().UTC().Format("2006-01-02T15:04:05.000Z"),
		EventName:    event,
		UserIdentity: principalID{PrincipalID: "AWS:" + c.id.AccessKeyID},
		S3: eventS3{SchemaVersion: "1.0",
			Bucket: eventBucket{Name: c.bucket, OwnerIdentity: principalID{PrincipalID: ownerPrincipal}, ARN: bucketARN(c.bucket)},
			Object: obj},
	}
	rec.RequestParameters.SourceIPAddress = ip
	rec.ResponseElements.RequestID, rec.ResponseElements.HostID = c.reqID, hostID(c.reqID)
	for _, n := range matched {
		rec.S3.ConfigurationID = n.ID
		payload, _ := json.Marshal(eventMessage{Records: []eventRecord{rec}})
		if err := s.deps.Notifier.Notify(c.r.Context(), n.FunctionARN, payload); err != nil {
			// The object is stored; the client's retry (SDKs retry
			// SlowDown) stores it again and queues the event.
			return &apiError{Status: http.StatusServiceUnavailable, Code: "SlowDown", Message: "Please reduce your request rate.",
				cause: fmt.Errorf("notify %s: %w", n.FunctionARN, err)}
		}
	}
	return nil
}

// hostID is the request's x-amz-id-2.
func hostID(reqID string) string {
	sum := sha256.Sum256([]byte("portico/" + reqID))
	return base64.StdEncoding.EncodeToString(sum[:])
}

// EncodeEventKey encodes an object key as S3 writes it in event records:
// form encoding (a space is "+"), with "/" and the characters letters,
// digits, "-", "_", ".", "*" kept as they are.
func EncodeEventKey(key string) string {
	var sb strings.Builder
	for i := 0; i < len(key); i++ {
		ch := key[i]
		switch {
		case ch >= 'a' && ch <= 'z', ch >= 'A' && ch <= 'Z', ch >= '0' && ch <= '9',
			ch == '-', ch == '_', ch == '.', ch == '*', ch == '/':
			sb.WriteByte(ch)
		case ch == ' ':
			sb.WriteByte('+')
		default:
			sb.WriteByte('%')
			sb.WriteString(strings.ToUpper(hex.EncodeToString([]byte{ch})))
		}
	}
	return sb.String()
}
