/**
 * The smallest piece of tfjs-backend-webgpu's program machinery the lab's WGSL kernels need: a one-thread-per-output
 * program in its `WebGPUProgram` shape (variableNames, outputShape, dispatch, uniforms, getUserCode), run through the
 * backend's `runWebGPUProgram`, which compiles and caches the pipeline per shader key and records it into the
 * backend's command stream (no GPU→CPU read). Read-only tables (kernel maps, point tables) are uploaded once per
 * JS array and released when the array is garbage-collected.
 */
import type { tf } from "../tf";

/** What the lab uses of tfjs-backend-webgpu's WebGPUBackend. */
export interface WebgpuBackend {
  runWebGPUProgram(
    program: unknown, inputs: tf.TensorInfo[], outputDtype: tf.DataType,
    uniforms?: Array<{ type: "int32" | "float32"; data: number[] }>, output?: tf.TensorInfo,
  ): tf.TensorInfo;
  makeTensorInfo(shape: number[], dtype: tf.DataType, values?: Float32Array | Int32Array): tf.TensorInfo;
  disposeData(dataId: object, force?: boolean): boolean;
}

export type Uniform = [name: string, type: "i32" | "f32", value: number];

const WORKGROUP = 64;

/** One thread per output element; `body` sees `index` (flat output index) and writes `result[index]`. */
class LabProgram {
  readonly variableNames: string[];
  readonly outputShape: number[];
  shaderKey: string;
  readonly dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  readonly workgroupSize: [number, number, number] = [WORKGROUP, 1, 1];
  readonly size = true;
  readonly uniforms?: string;

  constructor(
    key: string, variableNames: string[], outputShape: number[], uniforms: Uniform[], private readonly body: string,
    private readonly helpers: string,
  ) {
    this.variableNames = variableNames;
    this.outputShape = outputShape;
    this.shaderKey = `infty_${key}`;
    this.dispatchLayout = { x: outputShape.map((_, i) => i) };
    const n = outputShape.reduce((p, d) => p * d, 1);
    this.dispatch = [Math.ceil(n / WORKGROUP), 1, 1];
    if (uniforms.length) this.uniforms = uniforms.map(([name, type]) => `${name} : ${type},`).join(" ");
  }

  getUserCode(): string {
    return `${this.helpers}
      fn main(index : i32) {
        if (index < uniforms.size) {
          ${this.body}
        }
      }`;
  }
}

/**
 * Runs a one-thread-per-output WGSL program: float32 output of `outShape`; `inputs` bound in order as `names` (each
 * must be read by the shader: 'auto' layouts drop unused bindings); `helpers` are WGSL functions placed before main.
 */
export function runProgram(
  be: WebgpuBackend, key: string, names: string[], inputs: tf.TensorInfo[], outShape: number[], uniforms: Uniform[], body: string,
  helpers = "",
): tf.TensorInfo {
  const program = new LabProgram(key, names, outShape, uniforms, body, helpers);
  const data = uniforms.map(([, type, value]) => ({ type: type === "i32" ? "int32" as const : "float32" as const, data: [value] }));
  return be.runWebGPUProgram(program, inputs, "float32", data);
}

// Tables live as long as their JS array: uploaded on first use, released by the finaliser (tables are rebuilt per
// coordinate set, so holding them forever would grow GPU memory by one table per training step).
const uploaded = new WeakMap<object, { be: WebgpuBackend; info: tf.TensorInfo }>();
const release = new FinalizationRegistry<{ be: WebgpuBackend; dataId: object }>(({ be, dataId }) => {
  try {
    be.disposeData(dataId, true);
  } catch {
    /* the backend is gone */
  }
});

/** A GPU copy of a read-only table (an int32 or float32 typed array), shaped [length]. */
export function gpuTable(be: WebgpuBackend, arr: Int32Array | Float32Array): tf.TensorInfo {
  const hit = uploaded.get(arr);
  if (hit && hit.be === be) return hit.info;
  const info = be.makeTensorInfo([arr.length], arr instanceof Int32Array ? "int32" : "float32", arr);
  uploaded.set(arr, { be, info });
  release.register(arr, { be, dataId: info.dataId });
  return info;
}
