// Portico's bootstrap for the nodejs Lambda runtimes.
//
// It speaks the Lambda Runtime API (2018-06-01) to AWS_LAMBDA_RUNTIME_API
// over one keep-alive connection (an http.Agent with maxSockets 1), loads
// the handler named by _HANDLER from LAMBDA_TASK_ROOT as the managed runtime
// does (CommonJS or ES module), and runs it once per invocation: async
// handlers, callback handlers and awslambda.streamifyResponse handlers.
// No dependencies outside Node's standard library.
'use strict';

const fs = require('fs');
const http = require('http');
const path = require('path');
const url = require('url');
const util = require('util');
const { Writable } = require('stream');

const API_PREFIX = '/2018-06-01/runtime';
const STREAMING = Symbol.for('aws.lambda.runtime.handler.streaming');
const HIGH_WATER_MARK = Symbol.for('aws.lambda.runtime.handler.streaming.highWaterMark');
const HTTP_INTEGRATION_TYPE = 'application/vnd.awslambda.http-integration-response';

// --- Runtime API client ------------------------------------------------------

const [apiHost, apiPort] = (() => {
  const addr = process.env.AWS_LAMBDA_RUNTIME_API || '';
  const i = addr.lastIndexOf(':');
  let host = addr.slice(0, i);
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  return [host, Number(addr.slice(i + 1))];
})();

const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

// request sends one request and resolves to {status, headers, body}. A
// request that fails on a reused socket (closed by the server while idle)
// is retried once.
function request(method, p, headers, body, retried) {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: apiHost, port: apiPort, method, path: p, headers: headers || {}, agent },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      },
    );
    req.on('error', (err) => {
      if (!retried && req.reusedSocket) {
        request(method, p, headers, body, true).then(resolve, reject);
      } else {
        reject(err);
      }
    });
    req.end(body);
  });
}

function postJSON(p, errorType, obj) {
  const body = Buffer.from(JSON.stringify(obj));
  const headers = { 'Content-Type': 'application/json', 'Content-Length': body.length };
  if (errorType) headers['Lambda-Runtime-Function-Error-Type'] = errorType;
  return request('POST', p, headers, body);
}

// --- errors ----------------------------------------------------------------

class RuntimeError extends Error {
  constructor(type, message, cause) {
    super(message);
    this.runtimeType = type;
    if (cause && typeof cause.stack === 'string') this.stack = cause.stack;
  }
}
Object.defineProperty(RuntimeError.prototype, 'name', {
  get() {
    return this.runtimeType;
  },
});

function isError(e) {
  return util.types.isNativeError(e) || (e !== null && typeof e === 'object' && typeof e.message === 'string' && typeof e.stack === 'string');
}

// toErrorResponse shapes an error as the managed runtime does.
function toErrorResponse(err) {
  try {
    if (isError(err)) {
      return {
        errorType: String(err.name),
        errorMessage: String(err.message),
        trace: String(err.stack).split('\n'),
      };
    }
    return { errorType: typeof err, errorMessage: String(err), trace: [] };
  } catch (_) {
    return {
      errorType: 'handled',
      errorMessage: 'callback called with Error argument, but there was a problem while retrieving one or more of its message, name, and stack',
    };
  }
}

function logError(label, err) {
  const e = toErrorResponse(err);
  console.error(label, '\t' + JSON.stringify({ errorType: e.errorType, errorMessage: e.errorMessage, stack: e.trace }));
}

// --- logging ---------------------------------------------------------------

let currentRequestId; // undefined outside an invocation, as on AWS

function patchConsole() {
  const levels = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL'];
  const wanted = levels.indexOf((process.env.AWS_LAMBDA_LOG_LEVEL || '').toUpperCase());
  const min = wanted < 0 ? 0 : wanted;
  const make = (level) => {
    if (levels.indexOf(level) < min) return () => {};
    return (...args) => {
      const line = `${new Date().toISOString()}\t${currentRequestId}\t${level}\t${util.format(...args)}`;
      // One record per line, as the managed runtime writes them.
      process.stdout.write(line.replace(/\n/g, '\r') + '\n');
    };
  };
  console.trace = make('TRACE');
  console.debug = make('DEBUG');
  console.info = make('INFO');
  console.log = console.info;
  console.warn = make('WARN');
  console.error = make('ERROR');
  console.fatal = make('FATAL');
}

// --- handler loading -------------------------------------------------------

function hasTypeModule(dir) {
  for (let d = dir; ; ) {
    const pj = path.join(d, 'package.json');
    if (fs.existsSync(pj)) {
      try {
        return JSON.parse(fs.readFileSync(pj, 'utf8')).type === 'module';
      } catch (_) {
        return false;
      }
    }
    const parent = path.dirname(d);
    if (parent === d) return false;
    d = parent;
  }
}

function isFile(p) {
  try {
    return fs.statSync(p).isFile();
  } catch (_) {
    return false;
  }
}

async function importFile(p) {
  return import(url.pathToFileURL(p).href);
}

async function loadModule(appRoot, moduleRoot, name) {
  const base = path.resolve(appRoot, moduleRoot, name);
  if (isFile(base)) return require(base);
  const esm = isFile(base + '.js') && hasTypeModule(path.dirname(base + '.js'));
  if (isFile(base + '.js') && !esm) return require(base + '.js');
  if (esm) return importFile(base + '.js');
  if (isFile(base + '.mjs')) return importFile(base + '.mjs');
  if (isFile(base + '.cjs')) return require(base + '.cjs');
  // Node's own resolution (node_modules, directories with index.js).
  const resolved = require.resolve(name, { paths: [appRoot, path.resolve(appRoot, moduleRoot)] });
  return require(resolved);
}

async function loadHandler(appRoot, handlerString) {
  if (handlerString.includes('..')) {
    throw new RuntimeError(
      'Runtime.MalformedHandlerName',
      `'${handlerString}' is not a valid handler name. Use absolute paths when specifying root directories in handler names.`,
    );
  }
  const base = path.basename(handlerString);
  const moduleRoot = handlerString.slice(0, handlerString.length - base.length);
  const match = /^([^.]*)\.(.*)$/.exec(base);
  if (!match) throw new RuntimeError('Runtime.MalformedHandlerName', 'Bad handler');
  const [, name, exportPath] = match;
  let mod;
  try {
    mod = await loadModule(appRoot, moduleRoot, name);
  } catch (e) {
    if (e instanceof SyntaxError) throw new RuntimeError('Runtime.UserCodeSyntaxError', String(e), e);
    if (e && (e.code === 'MODULE_NOT_FOUND' || e.code === 'ERR_MODULE_NOT_FOUND')) {
      throw new RuntimeError('Runtime.ImportModuleError', String(e), e);
    }
    throw e;
  }
  const fn = exportPath.split('.').reduce((o, k) => (o == null ? undefined : o[k]), mod);
  if (!fn) throw new RuntimeError('Runtime.HandlerNotFound', `${handlerString} is undefined or not exported`);
  if (typeof fn !== 'function') throw new RuntimeError('Runtime.HandlerNotFound', `${handlerString} is not a function`);
  return fn;
}

// --- awslambda global ------------------------------------------------------

class HttpResponseStream {
  // from turns a response stream into an HTTP-integration stream: a JSON
  // prelude (statusCode, headers, cookies), 8 NUL bytes, then the body.
  static from(stream, prelude) {
    stream.setContentType(HTTP_INTEGRATION_TYPE);
    const json = JSON.stringify(prelude);
    stream._onBeforeFirstWrite = (write) => {
      write(json);
      write(new Uint8Array(8));
    };
    return stream;
  }
}

globalThis.awslambda = {
  streamifyResponse(handler, options) {
    handler[STREAMING] = 'response';
    if (options && options.highWaterMark) handler[HIGH_WATER_MARK] = options.highWaterMark;
    return handler;
  },
  HttpResponseStream,
};

// --- streaming response ----------------------------------------------------

// ResponseStream is the writable a streaming handler writes to; it sends a
// chunked POST /response in streaming mode over the shared agent.
class ResponseStream extends Writable {
  constructor(requestId, highWaterMark) {
    super(highWaterMark ? { highWaterMark } : {});
    this._requestId = requestId;
    this._contentType = 'application/octet-stream';
    this._req = null;
    this._onBeforeFirstWrite = null;
    this._failed = false;
    this.done = new Promise((resolve, reject) => {
      this._resolve = resolve;
      this._reject = reject;
    });
  }

  setContentType(type) {
    if (this._req) throw new RuntimeError('Runtime.InvalidStreamingOperation', 'Cannot set content-type, too late.');
    this._contentType = type;
  }

  _open() {
    if (this._req) return this._req;
    const req = http.request({
      host: apiHost,
      port: apiPort,
      method: 'POST',
      path: `${API_PREFIX}/invocation/${this._requestId}/response`,
      agent,
      headers: {
        'Content-Type': this._contentType,
        'Lambda-Runtime-Function-Response-Mode': 'streaming',
        'Transfer-Encoding': 'chunked',
        Trailer: 'Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body',
      },
    });
    req.on('response', (res) => {
      res.resume();
      res.on('end', () => this._resolve(res.statusCode));
    });
    req.on('error', (err) => this._reject(err));
    this._req = req;
    if (typeof this._onBeforeFirstWrite === 'function') {
      this._onBeforeFirstWrite((c) => req.write(c));
    }
    return req;
  }

  write(chunk, encoding, cb) {
    if (typeof chunk !== 'string' && !Buffer.isBuffer(chunk) && !(chunk instanceof Uint8Array)) {
      chunk = JSON.stringify(chunk);
    }
    return super.write(chunk, encoding, cb);
  }

  _write(chunk, encoding, cb) {
    this._open().write(chunk, encoding, cb);
  }

  _final(cb) {
    this._open().end(cb);
  }

  // fail ends the stream with the error in the trailers.
  fail(err) {
    if (this._failed || this.writableFinished) return;
    this._failed = true;
    const e = toErrorResponse(err);
    const req = this._open();
    req.addTrailers({
      'Lambda-Runtime-Function-Error-Type': e.errorType,
      'Lambda-Runtime-Function-Error-Body': Buffer.from(JSON.stringify(e)).toString('base64'),
    });
    req.end();
  }
}

// --- context ---------------------------------------------------------------

function parseHeaderJSON(headers, name) {
  const v = headers[name];
  if (!v) return undefined;
  try {
    return JSON.parse(v);
  } catch (e) {
    throw new RuntimeError('Runtime.LambdaContextUnmarshalError', `Unable to parse ${name} JSON: ${e.message}`);
  }
}

function buildContext(headers) {
  const deadline = Number(headers['lambda-runtime-deadline-ms']) || 0;
  const env = process.env;
  const identity = parseHeaderJSON(headers, 'lambda-runtime-cognito-identity');
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: env.AWS_LAMBDA_FUNCTION_NAME,
    functionVersion: env.AWS_LAMBDA_FUNCTION_VERSION,
    memoryLimitInMB: env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    logGroupName: env.AWS_LAMBDA_LOG_GROUP_NAME,
    logStreamName: env.AWS_LAMBDA_LOG_STREAM_NAME,
    invokedFunctionArn: headers['lambda-runtime-invoked-function-arn'],
    awsRequestId: headers['lambda-runtime-aws-request-id'],
    tenantId: headers['lambda-runtime-aws-tenant-id'],
    clientContext: parseHeaderJSON(headers, 'lambda-runtime-client-context'),
    identity: identity
      ? { cognitoIdentityId: identity.cognitoIdentityId, cognitoIdentityPoolId: identity.cognitoIdentityPoolId }
      : undefined,
    getRemainingTimeInMillis() {
      return Math.max(deadline - Date.now(), 0);
    },
  };
}

// --- invoke loop -----------------------------------------------------------

// whenLoopEmpty runs fn once the event loop has nothing left to do (the
// callbackWaitsForEmptyEventLoop behaviour).
let beforeExitAction = null;
process.on('beforeExit', () => {
  const fn = beforeExitAction;
  beforeExitAction = null;
  if (fn) setImmediate(fn);
});
function whenLoopEmpty(fn) {
  beforeExitAction = fn;
}

let inInvoke = false;

// runBuffered runs a callback or async handler and resolves to
// {result} or {error} when the invocation is complete.
function runBuffered(handler, event, context) {
  return new Promise((resolve) => {
    let finished = false;
    const finish = (outcome) => {
      if (finished) return;
      finished = true;
      beforeExitAction = null;
      resolve(outcome);
    };
    const done = (err, result) => (err != null ? finish({ error: err }) : finish({ result }));
    const callback = (err, result) => {
      if (err != null) return finish({ error: err });
      if (context.callbackWaitsForEmptyEventLoop) whenLoopEmpty(() => finish({ result }));
      else finish({ result });
    };
    context.done = done;
    context.succeed = (result) => done(null, result);
    context.fail = (err) => done(err == null ? 'handled' : err);
    let ret;
    try {
      ret = handler(event, context, callback);
    } catch (e) {
      finish({ error: e });
      return;
    }
    if (ret && typeof ret.then === 'function') {
      ret.then((result) => finish({ result }), (e) => finish({ error: e == null ? 'handled' : e }));
    }
  });
}

async function runStreaming(handler, event, context, requestId) {
  const stream = new ResponseStream(requestId, handler[HIGH_WATER_MARK]);
  let failure = null;
  try {
    await handler(event, stream, context);
    if (!stream.writableEnded) stream.end();
  } catch (e) {
    failure = e;
    logError('Invoke Error', e);
    stream.fail(e);
  }
  await stream.done;
  if (context.callbackWaitsForEmptyEventLoop) {
    await new Promise((resolve) => whenLoopEmpty(resolve));
  }
  return failure;
}

async function invoke(handler, next) {
  const headers = next.headers;
  const requestId = headers['lambda-runtime-aws-request-id'];
  currentRequestId = requestId;
  const trace = headers['lambda-runtime-trace-id'];
  if (trace) process.env._X_AMZN_TRACE_ID = trace;
  else delete process.env._X_AMZN_TRACE_ID;

  let context, event;
  try {
    context = buildContext(headers);
    event = JSON.parse(next.body.toString('utf8'));
  } catch (e) {
    return postError(requestId, e);
  }

  if (handler[STREAMING] === 'response') {
    await runStreaming(handler, event, context, requestId);
    return;
  }
  const outcome = await runBuffered(handler, event, context);
  if ('error' in outcome) return postError(requestId, outcome.error);
  let body;
  try {
    body = JSON.stringify(outcome.result === undefined ? null : outcome.result);
  } catch (e) {
    return postError(requestId, new RuntimeError('Runtime.MarshalError', `Unable to stringify response body: ${e.message}`, e));
  }
  const buf = Buffer.from(body === undefined ? 'null' : body);
  await request(
    'POST',
    `${API_PREFIX}/invocation/${requestId}/response`,
    { 'Content-Type': 'application/json', 'Content-Length': buf.length },
    buf,
  );
}

function postError(requestId, err) {
  logError('Invoke Error', err);
  const e = toErrorResponse(err);
  return postJSON(`${API_PREFIX}/invocation/${requestId}/error`, e.errorType, e);
}

async function fatal(err, code) {
  // An error outside the handler's control flow: report it for the current
  // invocation (or as an init error) and exit, as the managed runtime does.
  try {
    if (inInvoke) await postError(currentRequestId, err);
    else {
      logError('Init Error', err);
      const e = toErrorResponse(err);
      await postJSON(`${API_PREFIX}/init/error`, e.errorType, e);
    }
  } finally {
    process.exit(code);
  }
}

async function main() {
  patchConsole();
  process.on('uncaughtException', (err) => fatal(err, 129));
  process.on('unhandledRejection', (reason) => {
    const err = new RuntimeError('Runtime.UnhandledPromiseRejection', String(reason));
    if (isError(reason)) err.stack = reason.stack;
    fatal(err, 128);
  });

  const appRoot = process.env.LAMBDA_TASK_ROOT || process.cwd();
  let handler;
  try {
    handler = await loadHandler(appRoot, process.env._HANDLER || '');
  } catch (err) {
    logError('Init Error', err);
    const e = toErrorResponse(err);
    try {
      await postJSON(`${API_PREFIX}/init/error`, e.errorType, e);
    } finally {
      process.exit(1);
    }
  }

  for (;;) {
    const next = await request('GET', `${API_PREFIX}/invocation/next`);
    if (next.status !== 200) {
      process.stderr.write(`runtime API /next answered ${next.status}: ${next.body}\n`);
      process.exit(1);
    }
    inInvoke = true;
    await invoke(handler, next);
    inInvoke = false;
  }
}

main().catch((err) => {
  process.stderr.write(`bootstrap: ${err && err.stack ? err.stack : err}\n`);
  process.exit(1);
});
