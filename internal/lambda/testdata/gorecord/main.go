// Command gorecord is a test function: it appends each event it gets, as
// one JSON line, to the file named by $RECORD_FILE and returns
// {"recorded":true}; an event with "fail" set returns that error instead
// (after recording).
package main

import (
	"encoding/json"
	"errors"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	lambda.Start(func(raw json.RawMessage) (any, error) {
		f, err := os.OpenFile(os.Getenv("RECORD_FILE"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		if _, err := f.Write(append(append([]byte{}, raw...), '\n')); err != nil {
			return nil, err
		}
		var ev struct {
			Fail string `json:"fail"`
		}
		json.Unmarshal(raw, &ev)
		if ev.Fail != "" {
			return nil, errors.New(ev.Fail)
		}
		return map[string]bool{"recorded": true}, nil
	})
}
