/**
 * Finds and loads the C++ addon (build/Release/ctrkit_native.node) once per thread. In the lowest
 * layer so that any layer may use a native function (the backend adapts it to `Kernels`; the
 * stream reader takes its line encoder), each with its own fallback when the addon is absent.
 */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let cache: { addon: Record<string, unknown> | null; error: string } | null = null;

function findAddon(): string | null {
  // dist/src/util/nativeAddon.js or src/util/nativeAddon.ts -> package root
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const p = join(dir, 'build', 'Release', 'ctrkit_native.node');
    if (existsSync(p)) return p;
    dir = dirname(dir);
  }
  return null;
}

/** The addon's exports, or null with the reason (not built, or failed to load). */
export function loadNativeAddon(): { addon: Record<string, unknown> | null; error: string } {
  if (cache) return cache;
  const path = findAddon();
  if (!path) {
    cache = { addon: null, error: 'build/Release/ctrkit_native.node not found (run `npm run build:native`)' };
    return cache;
  }
  try {
    cache = { addon: createRequire(import.meta.url)(path) as Record<string, unknown>, error: '' };
  } catch (e) {
    cache = { addon: null, error: (e as Error).message };
  }
  return cache;
}
