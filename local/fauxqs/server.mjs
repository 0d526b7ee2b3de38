// Launcher for fauxqs, the local SQS server. Three things differ from the
// package's own startFauxqs/CLI:
//   - it listens on 127.0.0.1 only (fauxqs 1.9.2 and 2.4.1 bind 0.0.0.0
//     whatever host they are given: an open, unauthenticated queue);
//   - a message body may hold any character SQS accepts, including those
//     beyond the Basic Multilingual Plane (fauxqs tests UTF-16 code units,
//     so it refuses U+1F600, which SQS takes);
//   - it is quiet: logging every request costs about a fifth of the
//     throughput. FAUXQS_PORT picks the port; FAUXQS_LOG=1 logs.
import { buildApp } from "fauxqs";
// Not exported by the package; the same module instance its actions use.
import { INVALID_MESSAGE_BODY_CHAR } from "./node_modules/fauxqs/dist/sqs/sqsTypes.js";

const HOST = "127.0.0.1";

// What SQS accepts in a message body, by code point:
// #x9 | #xA | #xD | #x20-#xD7FF | #xE000-#xFFFD | #x10000-#x10FFFF.
const SQS_INVALID_BODY_CHAR = /[^\x09\x0A\x0D\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;
INVALID_MESSAGE_BODY_CHAR.test = (s) => SQS_INVALID_BODY_CHAR.test(s);
// Refuse to start if the override did not take (a changed fauxqs).
if (INVALID_MESSAGE_BODY_CHAR.test("ok \u{1F600}") || !INVALID_MESSAGE_BODY_CHAR.test("\uFFFE")) {
  console.error("server.mjs: could not widen fauxqs's message body check; update the launcher");
  process.exit(1);
}

const port = Number(process.env.FAUXQS_PORT || 9324);
// host names the queues (http://sqs.REGION.127.0.0.1:PORT/...), as before;
// listen() below decides where the server is reachable.
const app = buildApp({ host: HOST, logger: process.env.FAUXQS_LOG === "1" });
await app.listen({ port, host: HOST });
console.log(`fauxqs listening on http://${HOST}:${port}`);

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await app.close();
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
