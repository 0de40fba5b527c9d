/**
 * The playground's build (Vite): the page in web/, the library from the package's own build
 * (dist/src, what `import … from "bptt"` gives a user of the package), emitted to dist/playground/.
 * The dev server and `vite preview` send the headers that make the page cross-origin isolated
 * (COOP/COEP), which SharedArrayBuffer, and so the kernels' threads, need.
 */
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

const root = fileURLToPath(new URL("..", import.meta.url));
export const ISOLATION_HEADERS = {
  "Cross-Origin-Opener-Policy": "same-origin",
  "Cross-Origin-Embedder-Policy": "require-corp",
};

export default defineConfig({
  root: fileURLToPath(new URL(".", import.meta.url)),
  base: "./",
  resolve: {
    alias: [
      { find: /^bptt$/, replacement: `${root}dist/src/index.js` },
    ],
  },
  worker: { format: "es" },
  build: { outDir: `${root}dist/playground`, emptyOutDir: true, target: "es2022", chunkSizeWarningLimit: 2000 },
  server: { headers: ISOLATION_HEADERS },
  preview: { headers: ISOLATION_HEADERS },
  clearScreen: false,
});
