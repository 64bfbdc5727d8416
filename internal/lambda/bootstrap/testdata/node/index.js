// CommonJS test handlers for the Node.js bootstrap.
'use strict';

exports.handler = async (event, context) => {
  console.log('hello', event.name);
  console.warn('careful');
  return {
    event,
    functionName: context.functionName,
    functionVersion: context.functionVersion,
    invokedFunctionArn: context.invokedFunctionArn,
    memoryLimitInMB: context.memoryLimitInMB,
    awsRequestId: context.awsRequestId,
    logGroupName: context.logGroupName,
    logStreamName: context.logStreamName,
    identity: context.identity,
    clientContext: context.clientContext,
    tenantId: context.tenantId,
    remainingMs: context.getRemainingTimeInMillis(),
    traceId: process.env._X_AMZN_TRACE_ID,
    executionEnv: process.env.AWS_EXECUTION_ENV,
  };
};

// A callback handler that leaves a timer behind: with the default
// callbackWaitsForEmptyEventLoop the response waits for it.
exports.callback = (event, context, callback) => {
  setTimeout(() => console.log('timer fired'), 150);
  callback(null, { via: 'callback' });
};

exports.nowait = (event, context, callback) => {
  context.callbackWaitsForEmptyEventLoop = false;
  setTimeout(() => console.log('late timer fired'), 150);
  callback(null, 'no wait');
};

exports.succeed = (event, context) => {
  context.succeed({ via: 'succeed' });
};

exports.fail = async () => {
  throw new TypeError('boom');
};

exports.cbfail = (event, context, callback) => {
  callback(new Error('callback boom'));
};

exports.nested = { deep: { fn: async () => 'nested' } };

exports.stream = awslambda.streamifyResponse(async (event, responseStream) => {
  responseStream.setContentType('text/plain');
  responseStream.write('hello ');
  await new Promise((r) => setTimeout(r, 200));
  responseStream.write(Buffer.from('world'));
  responseStream.end();
});

exports.http = awslambda.streamifyResponse(async (event, responseStream) => {
  const s = awslambda.HttpResponseStream.from(responseStream, {
    statusCode: 201,
    headers: { 'x-custom': 'yes' },
    cookies: ['a=b'],
  });
  s.write('body');
  s.end();
});

exports.streamFail = awslambda.streamifyResponse(async (event, responseStream) => {
  responseStream.write('partial');
  await new Promise((r) => setTimeout(r, 50));
  throw new RangeError('mid-stream');
});
