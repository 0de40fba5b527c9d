#!/usr/bin/env node
// The `bptt` command. The TypeScript sources are compiled to dist/ by `npm install` / `npm ci` (prepare).
import { run } from "../dist/src/cli/main.js";

await run(process.argv.slice(2));
