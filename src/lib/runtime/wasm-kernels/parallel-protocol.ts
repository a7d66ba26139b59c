/** The control block shared by the parallel pool's main thread and workers (parallel.ts): Int32 slots per worker. */
export const CTL = {
  /** bumped by the main thread for each job (the worker waits on it) */
  SEQ: 0,
  /** set to SEQ by the worker when its slice is written (the main thread waits on it) */
  DONE: 1,
  /** 1 once the worker has instantiated its kernels */
  READY: 2,
  /** 1 if the worker's slice threw */
  ERROR: 3,
  KIND: 4,
  LO: 5,
  HI: 6,
  /** the thread index (selects the slice's scratch) */
  T: 7,
} as const;
/** Int32 slots per worker (64 bytes: one cache line each) */
export const CTL_INTS = 16;
/** Float64 parameters of one job (the separable conv needs 24 + 2k) */
export const PARAMS = 1024;
