// Command gostamp is a benchmark function: for each S3 event it writes
// "KEY UNIXNANOS\n" (the time the handler started) to the FIFO named by
// $STAMP_FIFO.
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	lambda.Start(func(ctx context.Context, ev events.S3Event) error {
		now := time.Now().UnixNano()
		f, err := os.OpenFile(os.Getenv("STAMP_FIFO"), os.O_WRONLY, 0)
		if err != nil {
			return err
		}
		defer f.Close()
		for _, r := range ev.Records {
			fmt.Fprintf(f, "%s %d\n", r.S3.Object.Key, now)
		}
		return nil
	})
}
