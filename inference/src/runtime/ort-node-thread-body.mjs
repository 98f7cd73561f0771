/**
 * The inference thread of ThreadedNodeOrtPort (ort-node-thread.ts): holds onnxruntime-node
 * sessions and runs them here, because onnxruntime-node's run() blocks the thread that calls it
 * for the whole native call (ORT issue 19611; measured in docs/batching.md §4). Plain JavaScript
 * so a worker thread can load it under tsx, vitest and plain node alike; everything else about
 * the port (option building, metadata and tensor checks, errors) stays in the TypeScript side.
 * Messages: {id, op: "create", model, options} -> {id, session, inputs, outputs};
 * {id, op: "run", session, feeds, outputNames} -> {id, outputs}; {id, op: "release", session}.
 * A failure answers {id, error: {message}}.
 */
import { parentPort } from "node:worker_threads";
import * as ort from "onnxruntime-node";

const sessions = new Map();
let nextSession = 0;

const metadata = (list) =>
  list.map((m) => ({ name: m.name, isTensor: m.isTensor, type: m.type, shape: m.shape }));

async function handle(msg) {
  switch (msg.op) {
    case "create": {
      const session = await ort.InferenceSession.create(msg.model, msg.options);
      const id = nextSession++;
      sessions.set(id, session);
      return {
        session: id,
        inputs: metadata(session.inputMetadata),
        outputs: metadata(session.outputMetadata),
      };
    }
    case "run": {
      const session = sessions.get(msg.session);
      if (session === undefined) throw new Error(`no session ${msg.session}`);
      const feeds = {};
      for (const [name, t] of Object.entries(msg.feeds)) {
        feeds[name] = new ort.Tensor(t.type, t.data, t.dims);
      }
      const result =
        msg.outputNames === undefined
          ? await session.run(feeds)
          : await session.run(feeds, msg.outputNames);
      const outputs = {};
      for (const [name, t] of Object.entries(result)) {
        outputs[name] = { type: t.type, data: t.data, dims: [...t.dims] };
      }
      return { outputs };
    }
    case "release": {
      await sessions.get(msg.session)?.release();
      sessions.delete(msg.session);
      return {};
    }
    default:
      throw new Error(`unknown op ${msg.op}`);
  }
}

parentPort.on("message", (msg) => {
  handle(msg).then(
    (reply) => parentPort.postMessage({ id: msg.id, ...reply }),
    (err) =>
      parentPort.postMessage({ id: msg.id, error: { message: String(err?.message ?? err) } }),
  );
});
