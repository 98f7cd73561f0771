/**
 * One ONNX model whose output is the mean of several exported predictors' outputs (a seed
 * ensemble, --ensemble): every member's graph is copied in with its names prefixed `m<k>/`, all
 * members read the shared graph inputs, and a Mean node writes the output name. Callers (the
 * edge, onnxruntime, the dead zone) see the members' interface. onnx-proto decodes and encodes;
 * the graph splice is written here because no JavaScript ONNX library merges graphs
 * (onnx.compose exists only in Python). A single member is returned as it is.
 */
import { ValidationError } from "@budgetfusion/shared/errors";
import onnxProto from "onnx-proto";

const { onnx } = onnxProto;

function signature(m: onnxProto.onnx.ModelProto): string {
  const io = (vs: onnxProto.onnx.IValueInfoProto[] | null | undefined) =>
    (vs ?? []).map((v) => v.name).join(",");
  const opsets = (m.opsetImport ?? []).map((o) => `${o.domain ?? ""}:${o.version}`).join(",");
  return `${io(m.graph?.input)} -> ${io(m.graph?.output)} @ ${opsets}`;
}

export function meanOfModels(models: readonly Uint8Array[]): Uint8Array {
  if (models.length === 0)
    throw new ValidationError("ensemble: need at least one member model", { field: "members" });
  if (models.length === 1) return models[0];
  const decoded = models.map((b) => onnx.ModelProto.decode(b));
  const first = decoded[0];
  const graph0 = first.graph;
  if (!graph0 || (graph0.output ?? []).length !== 1)
    throw new ValidationError("ensemble: every member must have one graph output", {
      field: "members[0]",
    });
  for (const [k, m] of decoded.entries())
    if (signature(m) !== signature(first))
      throw new ValidationError(
        `ensemble: member ${k} has inputs, output or opsets ${signature(m)}, not ${signature(first)}`,
        { field: `members[${k}]` },
      );
  const inputs = new Set((graph0.input ?? []).map((v) => v.name ?? ""));
  const output = graph0.output?.[0].name ?? "";
  const nodes: onnxProto.onnx.INodeProto[] = [];
  const initializers: onnxProto.onnx.ITensorProto[] = [];
  const valueInfo: onnxProto.onnx.IValueInfoProto[] = [];
  const memberOutputs: string[] = [];
  for (const [k, m] of decoded.entries()) {
    // Graph inputs are shared; "" marks an omitted optional input and stays as it is.
    const rename = (name: string) => (name === "" || inputs.has(name) ? name : `m${k}/${name}`);
    const g = m.graph as onnxProto.onnx.GraphProto;
    for (const node of g.node ?? [])
      nodes.push({
        ...node,
        name: rename(node.name ?? ""),
        input: (node.input ?? []).map(rename),
        output: (node.output ?? []).map(rename),
      });
    for (const t of g.initializer ?? []) initializers.push({ ...t, name: rename(t.name ?? "") });
    for (const v of g.valueInfo ?? []) valueInfo.push({ ...v, name: rename(v.name ?? "") });
    memberOutputs.push(rename(output));
  }
  nodes.push(
    onnx.NodeProto.create({
      opType: "Mean",
      name: "EnsembleMean",
      input: memberOutputs,
      output: [output],
    }),
  );
  const merged = onnx.ModelProto.create({
    ...first,
    docString: `mean of ${models.length} members: ${first.docString ?? ""}`,
    graph: onnx.GraphProto.create({
      ...graph0,
      node: nodes,
      initializer: initializers,
      valueInfo,
    }),
  });
  return onnx.ModelProto.encode(merged).finish();
}
