package openai

import (
	"bytes"
	"encoding/json"
)

// injectIncludeUsage returns a copy of a streaming completion request body
// that asks for stream_options.include_usage, and true, when body is a JSON
// object with "stream": true whose stream_options do not already set
// include_usage to true. Otherwise it returns nil, false and the request is
// forwarded unchanged. body is never modified.
func injectIncludeUsage(body []byte) ([]byte, bool) {
	var req struct {
		Stream        bool            `json:"stream"`
		StreamOptions json.RawMessage `json:"stream_options"`
	}
	if err := json.Unmarshal(body, &req); err != nil || !req.Stream {
		return nil, false
	}
	opts := bytes.TrimSpace(req.StreamOptions)
	if len(opts) == 0 || bytes.Equal(opts, []byte("null")) {
		if len(opts) == 0 {
			// Common case: no stream_options; insert it first, leaving every
			// other byte of the body as the client sent it.
			i := bytes.IndexByte(body, '{')
			out := make([]byte, 0, len(body)+40)
			out = append(out, body[:i+1]...)
			out = append(out, `"stream_options":{"include_usage":true}`...)
			if rest := bytes.TrimLeft(body[i+1:], " \t\r\n"); len(rest) > 0 && rest[0] != '}' {
				out = append(out, ',')
			}
			return append(out, body[i+1:]...), true
		}
		opts = []byte("{}")
	}
	var so map[string]json.RawMessage
	if err := json.Unmarshal(opts, &so); err != nil {
		return nil, false // stream_options is not an object: leave it to the upstream to refuse
	}
	if v, ok := so["include_usage"]; ok && bytes.Equal(bytes.TrimSpace(v), []byte("true")) {
		return nil, false
	}
	so["include_usage"] = json.RawMessage("true")
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil {
		return nil, false
	}
	var err error
	if top["stream_options"], err = marshal(so); err != nil {
		return nil, false
	}
	out, err := marshal(top)
	return out, err == nil
}

// marshal encodes v without HTML escaping.
func marshal(v any) (json.RawMessage, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(b.Bytes(), "\n"), nil
}
