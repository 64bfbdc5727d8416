// Streams server-sent events, one token at a time, through a function URL
// with invokeMode RESPONSE_STREAM. Runs unchanged on AWS Lambda.
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export const handler = awslambda.streamifyResponse(async (event, responseStream) => {
  const q = event.queryStringParameters?.q ?? "something";
  const delay = Number(event.queryStringParameters?.delay ?? 20);
  const stream = awslambda.HttpResponseStream.from(responseStream, {
    statusCode: 200,
    headers: { "content-type": "text/event-stream", "cache-control": "no-cache" },
  });
  for (const token of `You asked about ${q}. This answer streams.`.split(" ")) {
    stream.write(`data: ${token}\n\n`);
    await sleep(delay);
  }
  stream.write("event: done\ndata: [DONE]\n\n");
  stream.end();
});
