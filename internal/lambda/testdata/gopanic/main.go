// Command gopanic is a test function whose handler panics.
package main

import "github.com/aws/aws-lambda-go/lambda"

func main() {
	lambda.Start(func() error { panic("boom") })
}
