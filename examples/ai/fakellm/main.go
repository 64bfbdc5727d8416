// Command fakellm serves a small OpenAI-compatible model server on
// 127.0.0.1 (by default on Ollama's port, 11434) so that the AI example runs
// without a real model: /v1/chat/completions (JSON or server-sent events),
// /v1/completions, /v1/embeddings and /v1/models. Its answers are fixed and
// its token counts are word counts; see internal/openai/openaitest.
//
//	go run ./examples/ai/fakellm [-addr 127.0.0.1:11434] [-delay 200ms]
package main

import (
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/portico-dev/portico/internal/openai/openaitest"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:11434", "listen address")
	delay := flag.Duration("delay", 200*time.Millisecond, "pause before each streamed token")
	model := flag.String("model", "fake-model", "model name in responses")
	answer := flag.String("answer", "Hello from the fake model, streaming one word at a time.", "the completion, streamed word by word")
	flag.Parse()

	var words []string
	for i, w := range strings.Fields(*answer) {
		if i > 0 {
			w = " " + w
		}
		words = append(words, w)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("fake OpenAI-compatible server on http://%s/v1\n", ln.Addr())
	h := openaitest.NewHandler(openaitest.Options{Model: *model, Words: words, Delay: *delay})
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	log.Fatal(srv.Serve(ln))
}
