import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { defineConfig } from 'vite';

// GraphiQL's page (strawberry's, served at /graphql to browsers) loads these files from
// unpkg.com. They are copied from node_modules to dist/vendor/<package>@<version>/<path>, the
// same layout as unpkg, and `subbuzz serve` points the page at /panel/vendor/ instead, so
// GraphiQL works without internet access. The files are byte-identical to unpkg's: the page's
// integrity hashes still hold.
const GRAPHIQL_FILES = [
  ['react', 'umd/react.production.min.js'],
  ['react-dom', 'umd/react-dom.production.min.js'],
  ['js-cookie', 'dist/js.cookie.min.js'],
  ['graphiql', 'graphiql.min.css'],
  ['graphiql', 'graphiql.min.js'],
  ['@graphiql/plugin-explorer', 'dist/style.css'],
  ['@graphiql/plugin-explorer', 'dist/index.umd.js'],
];

function vendorGraphiql() {
  let outDir = 'dist';
  return {
    name: 'vendor-graphiql',
    configResolved(config) {
      outDir = config.build.outDir;
    },
    writeBundle() {
      for (const [name, path] of GRAPHIQL_FILES) {
        const root = join('node_modules', name);
        const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
        const target = join(outDir, 'vendor', `${name}@${version}`, path);
        mkdirSync(dirname(target), { recursive: true });
        copyFileSync(join(root, path), target);
      }
    },
  };
}

// `subbuzz serve` serves dist/ at /panel/; the panel talks to /graphql on the same origin.
export default defineConfig({
  base: '/panel/',
  plugins: [vendorGraphiql()],
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
