// Vite builds web/dist (served by the gateway at /); `npm run dev` proxies /api to a running gateway
// (OMNISTOCK_GATEWAY_URL, default the `make run` address) so the dev server has hot reload.
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

const gateway = process.env.OMNISTOCK_GATEWAY_URL ?? "http://127.0.0.1:8080";

export default defineConfig({
  plugins: [react()],
  build: {
    outDir: "dist",
    emptyOutDir: true,
    // Hashed file names under assets/: the gateway serves them as immutable.
    assetsDir: "assets",
    // No inline <script>/<style>: the gateway's CSP allows only same-origin files.
    assetsInlineLimit: 0,
    sourcemap: false,
  },
  server: {
    host: "127.0.0.1",
    port: 5173,
    strictPort: true,
    proxy: {
      "/api": { target: gateway, changeOrigin: false },
      "/healthz": { target: gateway },
    },
  },
});
