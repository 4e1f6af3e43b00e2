/**
 * Loads the C++ addon (build/Release/ctrkit_native.node) and adapts it to `Kernels`.
 * Argument order of every native function is exactly the `Kernels` method's.
 */
import { loadNativeAddon } from '../util/nativeAddon.js';
import type { Kernels } from './kernels.js';

/** CPUID's view of the CPU (native/cpuinfo.h); cache sizes in bytes, 0 when not reported. */
export interface CpuInfo {
  vendor: string;
  brand: string;
  family: number;
  model: number;
  stepping: number;
  /** e.g. "zen4", "zen5", "sapphire-rapids", "emerald-rapids"; "unknown" when not in the table. */
  uarch: string;
  isa: { avx2: boolean; fma: boolean; avx512f: boolean; avx512bw: boolean; avx512vl: boolean; avx512dq: boolean;
    avx512vnni: boolean; avx512bf16: boolean; avxvnni: boolean; amx: boolean };
  /** l3SharedBy: logical CPUs per L3 instance (0: hidden, then l3PerCore is an estimate). */
  cache: { l1d: number; l2: number; l3: number; l3SharedBy: number; l3PerCore: number; line: number; source: string };
  /** 512-bit FMAs per cycle per core: 2, 1 (one unit or double-pumped 256-bit), 0 (no AVX-512), -1 unknown. */
  fma512Units: number;
  fmaDatapath: string;
}

/** GEMM blocking (native/gemm.h): only `kc` changes results; sizes in floats. */
export interface GemmBlocking {
  kernel: string;
  kc: number;
  mc: number;
  packA: number;
  packB: number;
  source: string;
}

/** Raw addon exports beyond the Kernels methods. */
export interface NativeAddon {
  kernelName(): string;
  cpuInfo?(): CpuInfo;
  /** The blocking in use, or (`defaults`) the one this CPU's rule and table give. */
  gemmBlocking?(defaults?: boolean): GemmBlocking;
  /**
   * Fields not given keep the startup blocking's (the default, a tuned file, CTRKIT_GEMM_BLOCKING);
   * null restores it. Returns the blocking in use.
   */
  setGemmBlocking?(b: Partial<Omit<GemmBlocking, 'source'>> | null): GemmBlocking;
  /** Where `npm run bench -- gemm-tune` caches its choice for this CPU ("" without a home directory). */
  gemmTuneFile?(): string;
  /** Measured fp32 FMA peak with the pool's threads, over about `seconds` (profiles divide by it). */
  fmaPeak?(seconds: number): { gflops: number; threads: number; width: number };
  /** OpenBLAS cblas_sgemm via dlopen, for benchmarks; absent functions mean no OpenBLAS. */
  blasAvailable?(): boolean;
  blasGemm?(transA: boolean, transB: boolean, M: number, N: number, K: number, alpha: number,
    A: Float32Array, B: Float32Array, beta: number, C: Float32Array): void;
  blasSetThreads?(n: number): void;
  [fn: string]: unknown;
}

let cache: { kernels: Kernels | null; addon: NativeAddon | null; error: string } | null = null;

export function loadNativeKernels(): { kernels: Kernels | null; addon: NativeAddon | null; error: string } {
  if (cache) return cache;
  const { addon, error } = loadNativeAddon();
  const kernels = addon === null ? null : Object.assign(Object.create(null) as object, addon, { name: 'native' as const }) as unknown as Kernels;
  cache = { kernels, addon: addon as NativeAddon | null, error };
  return cache;
}
