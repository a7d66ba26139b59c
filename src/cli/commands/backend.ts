/**
 * `infty backend`: which tensor backend (and, for webgpu, which adapter) the lab picks here, and a short throughput
 * probe on it — the first thing to run on a new machine or GPU.
 */
import { Command } from "../command";
import { UsageError } from "../errors";
import { flagsHelp, int, num, parseFlags } from "../args";
import { backendFlag, startBackend } from "../inputs";
import { describeBackend, tf } from "../../lib/runtime/backend";

const FLAGS = {
  backend: backendFlag(),
  // bounded: a probe is a quick look, and --seconds 1e300 must not mean "forever"
  seconds: num("length of the throughput probe (0: none)", { min: 0, max: 600, default: 2 }),
  size: int("side of the square matrices the probe multiplies", { min: 1, max: 8192, default: 256, why: "a 8192² float32 matrix is 256 MiB" }),
};

/** Multiplies n×n matrices for about `seconds` (each result read back, so the device is really done); GFLOP/s. */
export async function matMulProbe(n: number, seconds: number): Promise<{ reps: number; seconds: number; gflops: number }> {
  const [a, b] = tf.tidy(() => [tf.randomNormal([n, n], 0, 1, "float32", 1), tf.randomNormal([n, n], 0, 1, "float32", 2)]);
  try {
    const once = async () => {
      const c = tf.matMul(a, b);
      await c.data();
      c.dispose();
    };
    await once(); // warm-up: kernel compilation, first upload
    let reps = 0;
    const t0 = Date.now();
    while ((Date.now() - t0) / 1000 < seconds || reps === 0) {
      await once();
      reps++;
    }
    const sec = (Date.now() - t0) / 1000;
    return { reps, seconds: sec, gflops: (2 * n ** 3 * reps) / sec / 1e9 };
  } finally {
    tf.dispose([a, b]);
  }
}

export const backendCommand: Command = {
  name: "backend",
  summary: "print the tensor backend (and GPU adapter) picked here, with a 2-second throughput probe",
  usage: `usage: infty backend [--backend webgpu] [--seconds 2]\n\n${flagsHelp(FLAGS)}\n\n` +
    "A software WebGPU adapter (SwiftShader) is used only when asked for:\n" +
    "  VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json infty backend --backend webgpu",
  async run(argv: string[]): Promise<void> {
    const f = parseFlags(argv, FLAGS);
    if (f._.length) throw new UsageError(`unexpected argument '${f._[0]}'`);
    const seconds = f.seconds, n = f.size;
    const info = await startBackend(f.backend, { quiet: true });
    console.log(`backend: ${describeBackend(info)}`);
    if (info.adapter) console.log(`adapter: ${JSON.stringify(info.adapter)}`);
    if (info.nativeUnavailable) console.log(`native: unavailable (${info.nativeUnavailable})`);
    if (seconds > 0) {
      const p = await matMulProbe(n, seconds);
      console.log(`probe: ${n}×${n} matMul, ${p.reps} in ${p.seconds.toFixed(1)} s → ${p.gflops.toFixed(2)} GFLOP/s (result read back each time)`);
    }
  },
};
