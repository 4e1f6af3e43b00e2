#!/usr/bin/env node
// The `ctrkit` command (package.json "bin"): the compiled CLI, which npm's prepare script builds
// into dist/. A committed, executable entry point, because a file tsc writes is not executable
// and `npx ctrkit` on a fresh clone would be refused.
import '../dist/src/cli/main.js';
