// Jest transform: TypeScript → CommonJS with esbuild (type checking is `npm run typecheck`'s job).
const { transformSync } = require('esbuild');
module.exports = {
  process(src, filename) {
    const out = transformSync(src, { loader: 'ts', format: 'cjs', target: 'node20', sourcemap: 'inline', sourcefile: filename });
    return { code: out.code };
  },
};
