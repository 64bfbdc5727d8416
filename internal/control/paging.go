package control

import (
	"encoding/base64"
	"fmt"
	"net/url"
	"strconv"
)

// pageParams name a service's paging query parameters and sizes.
type pageParams struct {
	token, size string // query parameter names: nextToken/maxResults, Marker/MaxItems
	def, max    int    // page size without the size parameter (0: everything) and the cap (0: none)
	sizeMax     int    // the largest size the service accepts (0: none)
}

var (
	// apigatewayv2 returns everything without maxResults.
	apigwPaging = pageParams{token: "nextToken", size: "maxResults"}
	// Lambda's ListFunctions returns at most 50 items a page, whatever
	// MaxItems asks (1 to 10000).
	lambdaPaging = pageParams{token: "Marker", size: "MaxItems", def: 50, max: 50, sizeMax: 10000}
)

// page cuts one page out of items: the offset comes from the token
// parameter (an opaque token this function issued), the size from the size
// parameter. next is the token of the following page, "" on the last one.
// A token or size that is not valid is an error naming the parameter.
func page[T any](items []T, q url.Values, p pageParams) (out []T, next string, err error) {
	start := 0
	if tok := q.Get(p.token); tok != "" {
		start, err = decodeToken(tok)
		if err != nil || start > len(items) {
			return nil, "", fmt.Errorf("invalid %s %q", p.token, tok)
		}
	}
	size := p.def
	if v := q.Get(p.size); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || (p.sizeMax > 0 && n > p.sizeMax) {
			if p.sizeMax > 0 {
				return nil, "", fmt.Errorf("invalid %s %q: must be an integer from 1 to %d", p.size, v, p.sizeMax)
			}
			return nil, "", fmt.Errorf("invalid %s %q: must be a positive integer", p.size, v)
		}
		size = n
	}
	if p.max > 0 && (size == 0 || size > p.max) {
		size = p.max
	}
	end := len(items)
	if size > 0 && start+size < end {
		end = start + size
		next = encodeToken(end)
	}
	return items[start:end], next, nil
}

func encodeToken(offset int) string {
	return base64.RawURLEncoding.EncodeToString([]byte("portico:" + strconv.Itoa(offset)))
}

func decodeToken(tok string) (int, error) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(b) < len("portico:") || string(b[:8]) != "portico:" {
		return 0, fmt.Errorf("token %q: not issued by Portico", tok)
	}
	n, err := strconv.Atoi(string(b[8:]))
	if err != nil || n < 0 {
		return 0, fmt.Errorf("token %q: not issued by Portico", tok)
	}
	return n, nil
}
