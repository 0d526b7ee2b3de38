// Quiet launcher for fauxqs: the CLI logs every request, which costs about a
// fifth of its throughput. FAUXQS_PORT picks the port; FAUXQS_LOG=1 logs.
import { startFauxqs } from "fauxqs";

const port = Number(process.env.FAUXQS_PORT || 9324);
const server = await startFauxqs({ port, host: "127.0.0.1", logger: process.env.FAUXQS_LOG === "1" });
console.log(`fauxqs listening on http://127.0.0.1:${server.port}`);

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await server.stop();
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
