#!/usr/bin/env node
// Drives Microsoft's own SignalR client (@microsoft/signalr, from the repository's package-lock.json)
// for the hub tests: tests/hubs/clients.py runs it and reads what happens.
//
//   node hub_client.mjs URL [--token T] [--transport websockets|sse|longpolling|auto]
//        [--skip-negotiation] [--auto-reconnect] [--reconnect-delays 0,100,...]
//        [--server-timeout MS] [--keep-alive MS] [--on Target]... [--invoke Method [--invoke-args JSON]]
//
// stdout: one JSON object a line, for each thing that happens (kinds: started, event, reconnecting,
// reconnected, closed, error, invoked, invokeError, sent, sendError, usage).
// stdin: one command a line: `stop`, `invoke <Method> <json array>`, `send <Method> <json array>`
// (send: no invocationId, so no answer is expected). End of stdin stops the connection.
// The client's own log goes to stderr from Warning up, so stdout stays JSON.
// Exits once the connection is closed (0), or when it could not start (1); bad arguments: 2.
import { createRequire } from "node:module";
import * as readline from "node:readline";

// The package ships CommonJS as its Node entry point: require it, resolved from this file up to
// the repository's node_modules.
const require = createRequire(import.meta.url);
const signalR = require("@microsoft/signalr");

function emit(obj) {
  // Writes to a pipe are synchronous on Linux and macOS, so each line is out before the next thing.
  process.stdout.write(JSON.stringify(obj) + "\n");
}

function message(err) {
  if (err === undefined || err === null) return null;
  return err instanceof Error ? err.message : String(err);
}

function describe(err) {
  // The client's own text first; its error class (HttpError, FailedToNegotiateWithServerError,
  // AggregateErrors...) and HTTP status where it has them, so a test can tell a 401 from a 503.
  const out = { message: message(err) };
  if (err && err.name) out.name = err.name;
  if (err && err.errorType) out.errorType = err.errorType;
  if (err && typeof err.statusCode === "number") out.statusCode = err.statusCode;
  return out;
}

function usage(text) {
  emit({ kind: "usage", message: text });
  process.stderr.write(`hub_client.mjs: ${text}\n`);
  process.exit(2);
}

function parseArgs(argv) {
  const opts = { on: [], transport: "auto", invokeArgs: [] };
  const value = (i, name) => {
    if (i + 1 >= argv.length) usage(`${name} needs a value`);
    return argv[i + 1];
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    switch (arg) {
      case "--token": opts.token = value(i, arg); i++; break;
      case "--transport": opts.transport = value(i, arg); i++; break;
      case "--skip-negotiation": opts.skipNegotiation = true; break;
      case "--auto-reconnect": opts.autoReconnect = true; break;
      case "--reconnect-delays":
        opts.autoReconnect = true;
        opts.reconnectDelays = value(i, arg).split(",").map(Number); i++; break;
      case "--server-timeout": opts.serverTimeout = Number(value(i, arg)); i++; break;
      case "--keep-alive": opts.keepAlive = Number(value(i, arg)); i++; break;
      case "--on": opts.on.push(value(i, arg)); i++; break;
      case "--invoke": opts.invoke = value(i, arg); i++; break;
      case "--invoke-args": opts.invokeArgs = JSON.parse(value(i, arg)); i++; break;
      default:
        if (arg.startsWith("--") || opts.url) usage(`unknown argument ${arg}`);
        opts.url = arg;
    }
  }
  if (!opts.url) usage("a hub URL is needed");
  return opts;
}

const TRANSPORTS = {
  websockets: signalR.HttpTransportType.WebSockets,
  sse: signalR.HttpTransportType.ServerSentEvents,
  longpolling: signalR.HttpTransportType.LongPolling,
  // All three, in the order the server lists them (the client's default).
  auto: undefined,
};

// The transport in use, read from the client's internals (HttpConnection.transport): a test of the
// fallback order wants to know which one it got. Best effort: null if the internals change.
const TRANSPORT_NAMES = {
  WebSocketTransport: "WebSockets",
  ServerSentEventsTransport: "ServerSentEvents",
  LongPollingTransport: "LongPolling",
};
function transportName(connection) {
  const name = connection.connection?.transport?.constructor?.name;
  return TRANSPORT_NAMES[name] ?? name ?? null;
}

const opts = parseArgs(process.argv.slice(2));
if (!(opts.transport in TRANSPORTS)) usage(`unknown transport ${opts.transport}`);

const stderrLogger = {
  log(level, text) {
    if (level >= signalR.LogLevel.Warning) {
      process.stderr.write(`[${signalR.LogLevel[level]}] ${text}\n`);
    }
  },
};

const httpOptions = { logger: stderrLogger };
if (opts.token !== undefined) httpOptions.accessTokenFactory = () => opts.token;
if (TRANSPORTS[opts.transport] !== undefined) httpOptions.transport = TRANSPORTS[opts.transport];
if (opts.skipNegotiation) httpOptions.skipNegotiation = true;

let builder = new signalR.HubConnectionBuilder()
  .withUrl(opts.url, httpOptions)
  .configureLogging(stderrLogger);
if (opts.autoReconnect) {
  builder = opts.reconnectDelays ? builder.withAutomaticReconnect(opts.reconnectDelays)
    : builder.withAutomaticReconnect();
}
if (opts.serverTimeout !== undefined) builder = builder.withServerTimeout(opts.serverTimeout);
if (opts.keepAlive !== undefined) builder = builder.withKeepAliveInterval(opts.keepAlive);
const connection = builder.build();

for (const target of opts.on) {
  connection.on(target, (...args) => emit({ kind: "event", target, args }));
}
connection.onreconnecting((err) => emit({ kind: "reconnecting", error: message(err) }));
connection.onreconnected((connectionId) =>
  emit({ kind: "reconnected", connectionId: connectionId ?? null, transport: transportName(connection) }));
connection.onclose((err) => {
  emit({ kind: "closed", error: message(err) });
  finish(0);
});

let finished = false;
function finish(code) {
  if (finished) return;
  finished = true;
  // Let stdout drain, then go: stdin would keep the process alive otherwise.
  process.stdout.write("", () => process.exit(code));
}

async function invoke(method, args) {
  try {
    const result = await connection.invoke(method, ...args);
    emit({ kind: "invoked", method, result: result ?? null });
  } catch (err) {
    emit({ kind: "invokeError", method, ...describe(err) });
  }
}

async function send(method, args) {
  try {
    await connection.send(method, ...args);
    emit({ kind: "sent", method });
  } catch (err) {
    emit({ kind: "sendError", method, ...describe(err) });
  }
}

async function stop() {
  await connection.stop();
  // onclose has ended us already if the connection was up; a stop during start ends in start's
  // error; this covers whatever else leaves the connection down.
  if (connection.state === signalR.HubConnectionState.Disconnected) finish(0);
}

function splitCommand(line) {
  // `invoke Method [json]`: the method is one word, the rest is a JSON array of arguments.
  const match = /^(\S+)(?:\s+(\S+))?(?:\s+(.*))?$/.exec(line.trim());
  if (!match) return null;
  const [, verb, method, rest] = match;
  return { verb, method, args: rest ? JSON.parse(rest) : [] };
}

const commands = readline.createInterface({ input: process.stdin });
commands.on("line", (line) => {
  if (!line.trim()) return;
  let command;
  try {
    command = splitCommand(line);
  } catch (err) {
    emit({ kind: "usage", message: `bad command ${JSON.stringify(line)}: ${message(err)}` });
    return;
  }
  if (command.verb === "stop") stop();
  else if (command.verb === "invoke" && command.method) invoke(command.method, command.args);
  else if (command.verb === "send" && command.method) send(command.method, command.args);
  else emit({ kind: "usage", message: `unknown command ${JSON.stringify(line)}` });
});
// The test went away (or closed our stdin): stop, which closes the connection and so ends us.
commands.on("close", () => stop());

try {
  await connection.start();
  emit({ kind: "started", connectionId: connection.connectionId ?? null, transport: transportName(connection) });
  if (opts.invoke) await invoke(opts.invoke, opts.invokeArgs);
} catch (err) {
  emit({ kind: "error", ...describe(err) });
  finish(1);
}
