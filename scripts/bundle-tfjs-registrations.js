// tfjs-core's CommonJS build leaves out two sets of registrations that ship
// only as extension-less ES modules Node cannot load: the gradients (needed
// by tf.grads) and the chained ops (t.add(1), t.square(), ...). Bundle each
// into one CommonJS file under dist/vendor at build time; tfjs keeps its
// registries in globals, so registering from these bundles serves the main
// tfjs-core copy.
const path = require("node:path");
const esbuild = require("esbuild");

const bundles = {
  "tfjs-gradients.js": "@tensorflow/tfjs-core/dist/register_all_gradients.js",
  "tfjs-chained-ops.js": "@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops.js",
};

for (const [out, entry] of Object.entries(bundles)) {
  esbuild.buildSync({
    entryPoints: [require.resolve(entry)],
    bundle: true,
    platform: "node",
    format: "cjs",
    target: "node20",
    logLevel: "error",
    outfile: path.join(__dirname, "..", "dist", "vendor", out),
  });
}
