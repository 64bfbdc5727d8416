package openai

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"strings"
)

// Memory bounds of the tee.
const (
	maxLine   = 64 << 10 // an SSE line longer than this is skipped, not parsed
	maxHeld   = 64 << 10 // strip mode: bytes of an event held before its first data line
	maxJSON   = 1 << 20  // a JSON body up to this size is parsed whole
	headTail  = 8 << 10  // beyond it, its first and last bytes are searched
	maxGunzip = 8 << 20  // a gzip JSON body inflating beyond this is not parsed
)

type teeMode int

const (
	modeNone teeMode = iota // not a 2xx response or an encoding we cannot read
	modeSSE
	modeJSON
)

// Event states in strip mode.
const (
	evStart = iota // no data line yet: the event's bytes are held
	evPass         // the event is forwarded
	evDrop         // the event is the injected usage-only chunk: dropped
)

// skippedLine stands for a line longer than maxLine.
var skippedLine = []byte(":")

// tee is the ResponseWriter handed to the wrapped integration. It forwards
// every write at once and reads the usage from the bytes on the way. In
// strip mode (the request was rewritten to ask for include_usage) the
// usage-only SSE event is removed: the bytes of an event before its first
// data line are held until that line is complete, which delays nothing an
// SSE client can see (it dispatches events only at their end).
type tee struct {
	http.ResponseWriter
	strip   bool
	started bool
	mode    teeMode
	gzip    bool

	// SSE
	line     []byte // the current incomplete line
	skipping bool   // the current line passed maxLine
	sawData  bool

	// strip mode
	held     []byte // lines of the current event before its first data line
	cur      []byte // the current incomplete line
	out      []byte // what one Write forwards
	state    int
	passLine bool // forwarding the rest of an over-long line
	dropLine bool // dropping the rest of an over-long line of the usage event

	// JSON
	buf      []byte // the body, or its first headTail bytes after overflow
	tail     []byte // after overflow: the last bytes (up to 2*headTail)
	overflow bool

	u Usage
}

func newTee(w http.ResponseWriter, strip bool) *tee { return &tee{ResponseWriter: w, strip: strip} }

// Unwrap lets http.ResponseController reach the client's writer (hijack,
// deadlines).
func (t *tee) Unwrap() http.ResponseWriter { return t.ResponseWriter }

// FlushError flushes the client's writer.
func (t *tee) FlushError() error { return http.NewResponseController(t.ResponseWriter).Flush() }

// Flush implements http.Flusher.
func (t *tee) Flush() { _ = t.FlushError() }

// start decides, at the response's head, what to read from the body.
func (t *tee) start(code int) {
	t.started = true
	if code < 200 || code > 299 {
		return
	}
	h := t.Header()
	ce := strings.ToLower(strings.TrimSpace(h.Get("Content-Encoding")))
	if strings.HasPrefix(strings.ToLower(strings.TrimSpace(h.Get("Content-Type"))), "text/event-stream") {
		t.u.Stream = true
		if ce != "" && ce != "identity" {
			return
		}
		t.mode = modeSSE
		if t.strip {
			h.Del("Content-Length") // bytes will be removed
		}
		return
	}
	switch ce {
	case "", "identity":
	case "gzip":
		t.gzip = true
	default:
		return
	}
	t.mode = modeJSON
}

// WriteHeader implements http.ResponseWriter.
func (t *tee) WriteHeader(code int) {
	if !t.started && code >= 200 {
		t.start(code)
	}
	t.ResponseWriter.WriteHeader(code)
}

// Write implements http.ResponseWriter. It reports len(p) for the bytes it
// removes.
func (t *tee) Write(p []byte) (int, error) {
	if !t.started {
		t.start(http.StatusOK)
	}
	switch t.mode {
	case modeSSE:
		if t.strip {
			return t.writeStrip(p)
		}
		n, err := t.ResponseWriter.Write(p)
		t.scan(p[:n])
		return n, err
	case modeJSON:
		n, err := t.ResponseWriter.Write(p)
		t.keep(p[:n])
		return n, err
	}
	return t.ResponseWriter.Write(p)
}

// feed takes the next piece of the current line. When seg ends the line
// (it ends in '\n') it returns the whole line without its '\n' and true;
// the line is valid until the next call.
func (t *tee) feed(seg []byte) ([]byte, bool) {
	if len(seg) == 0 || seg[len(seg)-1] != '\n' {
		if !t.skipping {
			if len(t.line)+len(seg) > maxLine {
				t.skipping, t.line = true, t.line[:0]
			} else {
				t.line = append(t.line, seg...)
			}
		}
		return nil, false
	}
	seg = seg[:len(seg)-1]
	switch {
	case t.skipping:
		t.skipping = false
		return skippedLine, true
	case len(t.line) == 0:
		return seg, true
	case len(t.line)+len(seg) > maxLine:
		t.line = t.line[:0]
		return skippedLine, true
	}
	l := append(t.line, seg...)
	t.line = l[:0]
	return l, true
}

// scan reads SSE lines from forwarded bytes.
func (t *tee) scan(p []byte) {
	for len(p) > 0 {
		end := len(p)
		if i := bytes.IndexByte(p, '\n'); i >= 0 {
			end = i + 1
		}
		if line, ok := t.feed(p[:end]); ok {
			t.observe(line)
		}
		p = p[end:]
	}
}

// writeStrip forwards p without what the injected include_usage added: the
// usage-only event, and the "usage":null member of the other chunks. It
// holds each line until it is complete (and the lines of an event before
// its first data line), then writes what p completed in one call.
func (t *tee) writeStrip(p []byte) (int, error) {
	n := len(p)
	t.out = t.out[:0]
	for len(p) > 0 {
		end := len(p)
		if j := bytes.IndexByte(p, '\n'); j >= 0 {
			end = j + 1
		}
		seg := p[:end]
		p = p[end:]
		if t.passLine { // the rest of an over-long line: forwarded as is
			t.out = append(t.out, seg...)
			t.passLine = seg[len(seg)-1] != '\n'
			continue
		}
		t.cur = append(t.cur, seg...)
		if seg[len(seg)-1] != '\n' {
			if len(t.cur) > maxLine {
				if t.state == evDrop {
					t.dropLine = true // the rest of the usage event is dropped
				} else {
					t.out = append(append(t.out, t.held...), t.cur...)
					t.state, t.passLine = evPass, true
				}
				t.held, t.cur = t.held[:0], t.cur[:0]
			}
			continue
		}
		if t.dropLine {
			t.dropLine = false
			t.cur = t.cur[:0]
			continue
		}
		t.stripLine(t.cur)
		t.cur = t.cur[:0]
	}
	if len(t.out) > 0 {
		if _, err := t.ResponseWriter.Write(t.out); err != nil {
			return 0, err
		}
	}
	return n, nil
}

// stripLine handles one complete line (with its "\n") in strip mode.
func (t *tee) stripLine(raw []byte) {
	line := raw[:len(raw)-1]
	switch t.state {
	case evDrop:
		if isBlank(line) {
			t.state = evStart
		}
		return
	case evPass:
		if isBlank(line) {
			t.state = evStart
		} else if isData(line) {
			t.observe(line)
			t.out = appendWithoutNullUsage(t.out, raw)
			return
		}
		t.out = append(t.out, raw...)
		return
	}
	switch {
	case isBlank(line): // an event without data
		t.out = append(append(t.out, t.held...), raw...)
		t.held = t.held[:0]
	case isData(line):
		if t.observe(line) {
			t.held, t.state = t.held[:0], evDrop
			return
		}
		t.out = appendWithoutNullUsage(append(t.out, t.held...), raw)
		t.held, t.state = t.held[:0], evPass
	default:
		t.held = append(t.held, raw...)
		if len(t.held) > maxHeld {
			t.out = append(t.out, t.held...)
			t.held, t.state = t.held[:0], evPass
		}
	}
}

// appendWithoutNullUsage appends the data line raw to dst without the
// top-level "usage":null member of its JSON object, which servers add to
// every chunk when asked for include_usage. Anything else is appended as is.
func appendWithoutNullUsage(dst, raw []byte) []byte {
	if !bytes.Contains(raw, []byte(`"usage"`)) {
		return append(dst, raw...)
	}
	from, to := nullUsageMember(raw)
	if from < 0 {
		return append(dst, raw...)
	}
	return append(append(dst, raw[:from]...), raw[to:]...)
}

// nullUsageMember finds the top-level member "usage":null of the JSON
// object in the data line b and returns the byte range to remove with one
// adjacent comma, or -1, -1.
func nullUsageMember(b []byte) (from, to int) {
	depth, inStr, esc := 0, false, false
	lastComma := -1 // at depth 1, the comma before the current member
	for i := 0; i < len(b); i++ {
		c := b[i]
		if inStr {
			switch {
			case esc:
				esc = false
			case c == '\\':
				esc = true
			case c == '"':
				inStr = false
			}
			continue
		}
		switch c {
		case '"':
			if depth == 1 && bytes.HasPrefix(b[i:], []byte(`"usage"`)) {
				j := skipSpace(b, i+len(`"usage"`))
				if j < len(b) && b[j] == ':' {
					j = skipSpace(b, j+1)
					if bytes.HasPrefix(b[j:], []byte("null")) {
						j = skipSpace(b, j+4)
						switch {
						case lastComma >= 0:
							return lastComma, j
						case j < len(b) && b[j] == ',':
							return i, skipSpace(b, j+1)
						default:
							return i, j
						}
					}
				}
			}
			inStr = true
		case '{', '[':
			depth++
		case '}', ']':
			depth--
		case ',':
			if depth == 1 {
				lastComma = i
			}
		}
	}
	return -1, -1
}

func isBlank(line []byte) bool { return len(line) == 0 || (len(line) == 1 && line[0] == '\r') }

func isData(line []byte) bool { return bytes.HasPrefix(line, []byte("data:")) }

// observe reads one SSE line. It reports whether the line is a data line
// carrying usage and no choices (the usage-only chunk).
func (t *tee) observe(line []byte) bool {
	if !isData(line) {
		return false
	}
	d := bytes.TrimSuffix(line[len("data:"):], []byte("\r"))
	if len(d) > 0 && d[0] == ' ' {
		d = d[1:]
	}
	if !t.sawData {
		t.sawData = true
		var c struct {
			Model string `json:"model"`
		}
		if json.Unmarshal(d, &c) == nil {
			t.u.Model = c.Model
		}
	}
	if usageObject(d, false) < 0 {
		return false
	}
	var c struct {
		Model   string            `json:"model"`
		Choices []json.RawMessage `json:"choices"`
		Usage   *usageJSON        `json:"usage"`
	}
	if json.Unmarshal(d, &c) != nil || !t.setUsage(c.Usage, c.Model) {
		return false
	}
	return len(c.Choices) == 0
}

// usageJSON is the usage object of OpenAI responses.
type usageJSON struct {
	PromptTokens     *int64 `json:"prompt_tokens"`
	CompletionTokens *int64 `json:"completion_tokens"`
	TotalTokens      *int64 `json:"total_tokens"`
}

// setUsage records u (when it has any count) and reports whether it did.
func (t *tee) setUsage(u *usageJSON, model string) bool {
	if u == nil || (u.PromptTokens == nil && u.CompletionTokens == nil && u.TotalTokens == nil) {
		return false
	}
	get := func(p *int64) int64 {
		if p == nil || *p < 0 {
			return 0
		}
		return *p
	}
	t.u.Known = true
	t.u.PromptTokens, t.u.CompletionTokens = get(u.PromptTokens), get(u.CompletionTokens)
	t.u.TotalTokens = get(u.TotalTokens)
	if u.TotalTokens == nil {
		t.u.TotalTokens = t.u.PromptTokens + t.u.CompletionTokens
	}
	if model != "" {
		t.u.Model = model
	}
	return true
}

// usageObject returns the offset of the '{' opening a "usage" member's
// object in b (the last one when last), or -1.
func usageObject(b []byte, last bool) int {
	const key = `"usage"`
	found := -1
	for off := 0; ; {
		i := bytes.Index(b[off:], []byte(key))
		if i < 0 {
			return found
		}
		j := off + i + len(key)
		j = skipSpace(b, j)
		if j < len(b) && b[j] == ':' {
			j = skipSpace(b, j+1)
			if j < len(b) && b[j] == '{' {
				if !last {
					return j
				}
				found = j
			}
		}
		off = off + i + len(key)
	}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n') {
		i++
	}
	return i
}

// keep retains a JSON body within bounded memory.
func (t *tee) keep(p []byte) {
	if !t.overflow {
		if len(t.buf)+len(p) <= maxJSON {
			t.buf = append(t.buf, p...)
			return
		}
		t.overflow = true
		t.tail = append(t.tail, t.buf[len(t.buf)-min(len(t.buf), headTail):]...)
		t.buf = append([]byte(nil), t.buf[:min(len(t.buf), headTail)]...)
	}
	if len(p) >= headTail {
		t.tail = append(t.tail[:0], p[len(p)-headTail:]...)
		return
	}
	t.tail = append(t.tail, p...)
	if len(t.tail) > 2*headTail {
		n := copy(t.tail, t.tail[len(t.tail)-headTail:])
		t.tail = t.tail[:n]
	}
}

// finish ends the tee and returns what it learnt.
func (t *tee) finish() Usage {
	switch t.mode {
	case modeSSE:
		if len(t.line) > 0 && !t.skipping { // the stream ended inside a line
			t.observe(t.line)
		}
		if !t.strip {
			break
		}
		if len(t.cur) > 0 && !t.passLine {
			t.observe(t.cur)
		}
		if rest := append(t.held, t.cur...); len(rest) > 0 && t.state != evDrop && !t.dropLine {
			// A stream cut short: forward what was held.
			_, _ = t.ResponseWriter.Write(rest)
		}
		t.held, t.cur = t.held[:0], t.cur[:0]
	case modeJSON:
		t.parseJSON()
	}
	return t.u
}

func (t *tee) parseJSON() {
	var resp struct {
		Model string     `json:"model"`
		Usage *usageJSON `json:"usage"`
	}
	if !t.overflow {
		body := t.buf
		if t.gzip {
			zr, err := gzip.NewReader(bytes.NewReader(body))
			if err != nil {
				return
			}
			body, err = io.ReadAll(io.LimitReader(zr, maxGunzip+1))
			if err != nil || len(body) > maxGunzip {
				return
			}
		}
		if json.Unmarshal(body, &resp) == nil {
			t.setUsage(resp.Usage, resp.Model)
		}
		return
	}
	if t.gzip {
		return
	}
	// A large body (embeddings of many inputs): the model from its head,
	// the usage from its tail, where OpenAI-compatible servers put them.
	var model string
	if i := bytes.Index(t.buf, []byte(`"model"`)); i >= 0 {
		j := skipSpace(t.buf, i+len(`"model"`))
		if j < len(t.buf) && t.buf[j] == ':' {
			_ = json.NewDecoder(bytes.NewReader(t.buf[j+1:])).Decode(&model)
		}
	}
	if i := usageObject(t.tail, true); i >= 0 {
		var u usageJSON
		if json.NewDecoder(bytes.NewReader(t.tail[i:])).Decode(&u) == nil {
			t.setUsage(&u, model)
		}
	}
}
