// Command rogue is a misbehaving test runtime speaking raw HTTP to the
// Runtime API. ROGUE_MODE selects the misbehaviour:
//
//	initexit   print a line and exit 3 before asking for work
//	initerror  post /init/error, then exit 1
//	never      take the invocation and never answer
//	garbage    answer with an unknown request id, then a malformed path, then exit 4
//	slowinit   sleep a minute before asking for work
//	twice      answer twice and log the status of the second answer
//	streamerr  stream a response that fails with error trailers
//	env        answer with its environment
package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"
)

func main() {
	api := "http://" + os.Getenv("AWS_LAMBDA_RUNTIME_API") + "/2018-06-01/runtime"
	mode := os.Getenv("ROGUE_MODE")
	switch mode {
	case "slowinit":
		time.Sleep(time.Minute)
	case "initexit":
		fmt.Println("dying during init")
		os.Exit(3)
	case "initerror":
		req, _ := http.NewRequest("POST", api+"/init/error", strings.NewReader(`{"errorMessage":"cannot start","errorType":"Runtime.ImportModuleError"}`))
		req.Header.Set("Lambda-Runtime-Function-Error-Type", "Runtime.ImportModuleError")
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		os.Exit(1)
	}
	for {
		resp, err := http.Get(api + "/invocation/next")
		if err != nil {
			os.Exit(2)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		id := resp.Header.Get("Lambda-Runtime-Aws-Request-Id")
		switch mode {
		case "never":
			select {}
		case "garbage":
			st := post(api+"/invocation/not-the-id/response", "hello", nil)
			fmt.Println("unknown id got", st)
			st = post(api+"/invocation/"+id+"/bogus", "hello", nil)
			fmt.Println("bogus path got", st)
			os.Exit(4)
		case "twice":
			post(api+"/invocation/"+id+"/response", `"first"`, nil)
			fmt.Println("second response got", post(api+"/invocation/"+id+"/response", `"second"`, nil))
		case "streamerr":
			streamErr(api + "/invocation/" + id + "/response")
		case "env":
			b, _ := json.Marshal(os.Environ())
			post(api+"/invocation/"+id+"/response", string(b), nil)
		default:
			post(api+"/invocation/"+id+"/response", `"ok"`, nil)
		}
	}
}

func post(url, body string, h map[string]string) int {
	req, _ := http.NewRequest("POST", url, strings.NewReader(body))
	for k, v := range h {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// streamErr sends a chunked streaming response whose trailers report an
// error.
func streamErr(url string) {
	pr, pw := io.Pipe()
	req, _ := http.NewRequest("POST", url, pr)
	req.Header.Set("Lambda-Runtime-Function-Response-Mode", "streaming")
	req.Header.Set("Content-Type", "text/plain")
	req.Trailer = http.Header{"Lambda-Runtime-Function-Error-Type": nil, "Lambda-Runtime-Function-Error-Body": nil}
	go func() {
		pw.Write([]byte("partial "))
		pw.Write([]byte("output"))
		req.Trailer.Set("Lambda-Runtime-Function-Error-Type", "Function.StreamBroke")
		eb, _ := json.Marshal(map[string]string{"errorType": "Function.StreamBroke", "errorMessage": "stream broke"})
		req.Trailer.Set("Lambda-Runtime-Function-Error-Body", base64.StdEncoding.EncodeToString(eb))
		pw.Close()
	}()
	resp, err := http.DefaultClient.Do(req)
	if err == nil {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	_ = bytes.MinRead
}
