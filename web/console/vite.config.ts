// The console's build (docs/console.md). `vite build` writes static files into dist/, which
// wuye-gateway serves with --console_dir. `vite` (the dev server) proxies every RPC path
// (/<package>.<Service>/<Method>), /local/ and /console/config to the gateway, so the
// console's calls are same-origin in both. WUYE_GATEWAY_URL chooses the gateway (default
// http://127.0.0.1:50080); its local sign-in (/local/people, /local/sign-in:
// --local_sign_in_file) and the console's run-time config (its --oidc_* flags) are proxied too.
import { defineConfig } from "vite";
import vue from "@vitejs/plugin-vue";

const gateway = process.env.WUYE_GATEWAY_URL ?? "http://127.0.0.1:50080";

export default defineConfig(() => {
  return {
    plugins: [vue()],
    build: {
      outDir: "dist",
      emptyOutDir: true,
      target: "es2020",
      // dist/.vite/manifest.json: which chunks each page loads, for the budget
      // (scripts/bundle-size.mjs). Rollup splits by route (the router's dynamic imports).
      manifest: true,
      chunkSizeWarningLimit: 400,
    },
    server: {
      host: "127.0.0.1",
      port: 5173,
      strictPort: true,
      proxy: {
        "^/(wuye|grpc)\\.[^/]+/[^/]+$": { target: gateway, changeOrigin: false },
        "^/local/": { target: gateway, changeOrigin: false },
        "^/console/config$": { target: gateway, changeOrigin: false },
      },
    },
  };
});
