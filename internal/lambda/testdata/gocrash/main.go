// Command gocrash is a test function: {"exit":N} exits the process with
// status N in the middle of the invocation; {"fail":"msg"} returns an error.
package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
)

type event struct {
	Exit *int   `json:"exit"`
	Fail string `json:"fail"`
}

func main() {
	lambda.Start(func(ev event) (string, error) {
		if ev.Exit != nil {
			fmt.Println("exiting with", *ev.Exit)
			os.Exit(*ev.Exit)
		}
		if ev.Fail != "" {
			return "", errors.New(ev.Fail)
		}
		return "ok", nil
	})
}
