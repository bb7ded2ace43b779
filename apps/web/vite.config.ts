import { defineConfig } from "vite"

export default defineConfig({
  base: "/app/",
  resolve: { conditions: ["@findry/source"] },
  esbuild: { jsx: "automatic" },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2022",
    reportCompressedSize: true,
    chunkSizeWarningLimit: 600
  },
  // `pnpm --filter @findry/web dev`: the page with hot reload at http://localhost:5173/app/, calling the API
  // that `pnpm start` runs.
  server: { proxy: { "/v1": "http://localhost:3000" } }
})
