// tfjs-core's CommonJS build leaves out the gradient registrations (they ship
// only as extension-less ES modules that Node cannot load). Bundle them into
// one CommonJS file at build time; tfjs keeps its gradient registry in a
// global, so registering from this bundle serves the main tfjs-core copy.
const path = require("node:path");
const esbuild = require("esbuild");

esbuild.buildSync({
  entryPoints: [require.resolve("@tensorflow/tfjs-core/dist/register_all_gradients.js")],
  bundle: true,
  platform: "node",
  format: "cjs",
  target: "node20",
  logLevel: "error",
  outfile: path.join(__dirname, "..", "dist", "vendor", "tfjs-gradients.js"),
});
