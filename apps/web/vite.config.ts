import { defineConfig } from "vite"

export default defineConfig({
  base: "/app/",
  resolve: { conditions: ["@findry/source"] },
  esbuild: { jsx: "automatic" },
  build: { outDir: "dist", emptyOutDir: true, target: "es2022", reportCompressedSize: true, chunkSizeWarningLimit: 600 }
})
