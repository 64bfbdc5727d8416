// Command gomem is a test function that allocates and touches {"mb":N}
// MiB, then answers {"allocated":N}.
package main

import "github.com/aws/aws-lambda-go/lambda"

type event struct {
	MB int `json:"mb"`
}

var keep [][]byte

func main() {
	lambda.Start(func(ev event) (map[string]int, error) {
		for i := 0; i < ev.MB; i++ {
			b := make([]byte, 1<<20)
			for j := range b {
				b[j] = byte(j)
			}
			keep = append(keep, b)
		}
		return map[string]int{"allocated": ev.MB}, nil
	})
}
