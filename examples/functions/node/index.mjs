// A Node.js function (ES module, async handler): echoes what it was asked.
export const handler = async (event, context) => {
  const name = event.queryStringParameters?.name ?? event.name ?? "world";
  console.log(`greeting ${name}`);
  return {
    statusCode: 200,
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      runtime: "node",
      greeting: `hello, ${name}`,
      function: context.functionName,
      requestId: context.awsRequestId,
      remainingMs: context.getRemainingTimeInMillis(),
    }),
  };
};
