import { defineConfig } from 'vite';

// `subbuzz serve` serves dist/ at /panel/; the panel talks to /graphql on the same origin.
export default defineConfig({
  base: '/panel/',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2020',
  },
  server: {
    // `npm run dev` against a local `subbuzz serve` (port 8000).
    proxy: {
      '/graphql': { target: 'http://127.0.0.1:8000', ws: true },
    },
  },
});
