// A function that streams its answer as server-sent events, one token at a
// time, as a model would. Try: curl -N 'http://127.0.0.1:8080/v1/stream?q=hi'
// or, in a browser: new EventSource('http://127.0.0.1:8080/v1/stream?q=hi').
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export const handler = awslambda.streamifyResponse(async (event, responseStream) => {
  const prompt = event.queryStringParameters?.q ?? "something";
  const delay = Number(event.queryStringParameters?.delay ?? 150);
  // The prelude sets the status and headers; text/event-stream is what
  // EventSource requires.
  const stream = awslambda.HttpResponseStream.from(responseStream, {
    statusCode: 200,
    headers: { "content-type": "text/event-stream", "cache-control": "no-cache" },
  });
  const tokens = `You asked about ${prompt}. This answer streams one token at a time.`.split(" ");
  for (const token of tokens) {
    stream.write(`data: ${token}\n\n`);
    await sleep(delay);
  }
  // An event the client recognises as the end, so EventSource does not
  // reconnect; then the stream ends.
  stream.write("event: done\ndata: [DONE]\n\n");
  stream.end();
});
