// Where gplab itself is installed, so that types, modules and the kernelspec
// resolve from gplab's own install whatever the notebook's directory is.
import * as fs from "node:fs";
import * as path from "node:path";

function findPackageRoot(start: string): string {
  let dir = start;
  for (;;) {
    const manifest = path.join(dir, "package.json");
    if (fs.existsSync(manifest)) {
      const name = (JSON.parse(fs.readFileSync(manifest, "utf8")) as { name?: string }).name;
      if (name === "gplab") return dir;
    }
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`gplab's package.json not found above ${start}`);
    dir = parent;
  }
}

/** The directory holding gplab's package.json (compiled code lives in dist/ below it). */
export const gplabRoot: string = findPackageRoot(__dirname);

export const gplabVersion: string = (
  JSON.parse(fs.readFileSync(path.join(gplabRoot, "package.json"), "utf8")) as { version: string }
).version;

/** The CLI entry that Jupyter starts (`gplab kernel --connection-file F`). */
export const cliScript: string = path.join(gplabRoot, "bin", "gplab.js");
