// Command goslow is a test function that sleeps {"ms":N} milliseconds,
// ignoring its deadline, then answers {"slept":N}.
package main

import (
	"time"

	"github.com/aws/aws-lambda-go/lambda"
)

type event struct {
	MS int `json:"ms"`
}

func main() {
	lambda.Start(func(ev event) (map[string]int, error) {
		time.Sleep(time.Duration(ev.MS) * time.Millisecond)
		return map[string]int{"slept": ev.MS}, nil
	})
}
