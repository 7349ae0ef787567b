// How cells load modules: from the notebook's directory first, then from
// gplab's own install; ESM-only packages (which `require` cannot resolve or
// load) are imported asynchronously before the cell runs.
import * as fs from "node:fs";
import * as path from "node:path";
import * as url from "node:url";
import Module, { createRequire } from "node:module";
import { types } from "node:util";
import { gplabRoot } from "./paths";

const ESM_CONDITIONS = ["node", "import", "default"];
/** Errors that mean "this module exists but needs import(), not require()". */
const NEEDS_IMPORT = new Set(["ERR_REQUIRE_ESM", "ERR_REQUIRE_ASYNC_MODULE", "ERR_PACKAGE_PATH_NOT_EXPORTED"]);

type ExportsTarget = string | null | ExportsTarget[] | { [key: string]: ExportsTarget };

function pickTarget(target: ExportsTarget): string | null {
  if (typeof target === "string") return target;
  if (Array.isArray(target)) {
    for (const candidate of target) {
      const picked = pickTarget(candidate);
      if (picked) return picked;
    }
    return null;
  }
  if (target && typeof target === "object") {
    for (const [condition, value] of Object.entries(target)) {
      if (ESM_CONDITIONS.includes(condition)) {
        const picked = pickTarget(value);
        if (picked) return picked;
      }
    }
  }
  return null;
}

function splitSpecifier(specifier: string): { name: string; subpath: string } {
  const parts = specifier.split("/");
  const nameLength = specifier.startsWith("@") ? 2 : 1;
  const name = parts.slice(0, nameLength).join("/");
  const rest = parts.slice(nameLength).join("/");
  return { name, subpath: rest ? `./${rest}` : "." };
}

/** Resolves a bare specifier with the "import" condition (what `import()` would load). */
export function resolveAsImport(specifier: string, fromDir: string): string | null {
  const { name, subpath } = splitSpecifier(specifier);
  for (let dir = fromDir; ; dir = path.dirname(dir)) {
    const packageDir = path.join(dir, "node_modules", name);
    const manifestPath = path.join(packageDir, "package.json");
    if (fs.existsSync(manifestPath)) {
      const manifest = JSON.parse(fs.readFileSync(manifestPath, "utf8"));
      let exportsMap: ExportsTarget = manifest.exports ?? null;
      if (exportsMap === null) {
        return path.join(packageDir, subpath === "." ? manifest.main ?? "index.js" : subpath);
      }
      const isSubpathMap = typeof exportsMap === "object" && !Array.isArray(exportsMap) &&
        Object.keys(exportsMap).some((key) => key.startsWith("."));
      if (!isSubpathMap) exportsMap = { ".": exportsMap };
      const map = exportsMap as Record<string, ExportsTarget>;
      let target = subpath in map ? pickTarget(map[subpath]) : null;
      if (!target) {
        // Subpath patterns such as "./features/*".
        for (const [key, value] of Object.entries(map)) {
          const star = key.indexOf("*");
          if (star < 0) continue;
          const [prefix, suffix] = [key.slice(0, star), key.slice(star + 1)];
          if (subpath.startsWith(prefix) && subpath.endsWith(suffix)) {
            const matched = subpath.slice(prefix.length, subpath.length - suffix.length);
            target = pickTarget(value)?.replace(/\*/g, matched) ?? null;
            if (target) break;
          }
        }
      }
      return target ? path.join(packageDir, target) : null;
    }
    if (path.dirname(dir) === dir) return null;
  }
}

/** Gives ES module namespaces the `__esModule` marker that TypeScript's CommonJS interop expects. */
function asInteropModule(loaded: unknown): unknown {
  if (!types.isModuleNamespaceObject(loaded)) return loaded;
  if ((loaded as { __esModule?: boolean }).__esModule) return loaded;
  return Object.freeze({ ...(loaded as object), __esModule: true });
}

export class CellModuleLoader {
  private readonly fromNotebook: NodeRequire;
  private readonly fromGplab: NodeRequire;
  /** Modules that had to be loaded with import(), by specifier. */
  private readonly imported = new Map<string, unknown>();

  constructor(private readonly notebookDir: string) {
    this.fromNotebook = createRequire(path.join(notebookDir, "__notebook__.js"));
    this.fromGplab = createRequire(path.join(gplabRoot, "package.json"));
  }

  /** Compiled local .ts files (from the cell compiler), by absolute .js path, and their loaded modules. */
  private readonly localSources = new Map<string, string>();
  private readonly localModules = new Map<string, Module>();

  /** Registers new or changed local modules; a changed one is loaded afresh next time. */
  addLocalModules(modules: Array<{ path: string; javascript: string }>): void {
    for (const { path: file, javascript } of modules) {
      this.localSources.set(path.resolve(file), javascript);
      this.localModules.delete(path.resolve(file));
    }
  }

  /** Loads a compiled local module, whose own relative imports may be compiled ones too. */
  private loadLocal(specifier: string, fromDir: string): unknown {
    let file = path.resolve(fromDir, specifier);
    if (path.extname(file) === "") file += ".js";
    if (!this.localSources.has(file)) return undefined;
    const cached = this.localModules.get(file);
    if (cached) return cached.exports;
    const mod = new Module(file, module);
    mod.filename = file;
    mod.paths = (Module as unknown as { _nodeModulePaths(dir: string): string[] })._nodeModulePaths(path.dirname(file));
    const ownRequire = createRequire(file);
    mod.require = ((id: string) =>
      isRelative(id) ? this.loadLocal(id, path.dirname(file)) ?? ownRequire(id) : this.require(id)) as NodeRequire;
    this.localModules.set(file, mod);
    (mod as unknown as { _compile(source: string, filename: string): void })._compile(this.localSources.get(file)!, file);
    return mod.exports;
  }

  /** The `require` that compiled cells call. */
  readonly require = (specifier: string): unknown => {
    if (this.imported.has(specifier)) return this.imported.get(specifier);
    if (isRelative(specifier)) {
      const local = this.loadLocal(specifier, this.notebookDir);
      if (local !== undefined) return local;
    }
    if (specifier === "gplab") return this.fromGplab(gplabRoot);
    try {
      return asInteropModule(this.fromNotebook(specifier));
    } catch (error) {
      if (!isNotFound(error) || isRelative(specifier)) throw error;
      return asInteropModule(this.fromGplab(specifier));
    }
  };

  /**
   * Loads, before a cell runs, the modules that `require` cannot load
   * synchronously (ESM-only packages, ES modules with top-level await).
   */
  async prepare(specifiers: Iterable<string>): Promise<void> {
    for (const specifier of specifiers) {
      if (this.imported.has(specifier)) continue;
      try {
        this.require(specifier);
      } catch (error) {
        const code = (error as { code?: string }).code ?? "";
        if (!NEEDS_IMPORT.has(code)) throw error;
        const file = this.resolveForImport(specifier);
        if (!file) throw error;
        this.imported.set(specifier, asInteropModule(await import(url.pathToFileURL(file).href)));
      }
    }
  }

  private resolveForImport(specifier: string): string | null {
    if (isRelative(specifier)) return path.resolve(this.notebookDir, specifier);
    for (const base of [this.notebookDir, gplabRoot]) {
      try {
        return (base === gplabRoot ? this.fromGplab : this.fromNotebook).resolve(specifier);
      } catch {
        const resolved = resolveAsImport(specifier, base);
        if (resolved && fs.existsSync(resolved)) return resolved;
      }
    }
    return null;
  }
}

function isNotFound(error: unknown): boolean {
  return (error as { code?: string }).code === "MODULE_NOT_FOUND";
}

function isRelative(specifier: string): boolean {
  return specifier.startsWith(".") || path.isAbsolute(specifier);
}

/** The module specifiers a compiled (CommonJS) cell requires. */
export function requiredSpecifiers(compiledCell: string): Set<string> {
  const found = new Set<string>();
  for (const match of compiledCell.matchAll(/\brequire\("([^"]+)"\)/g)) found.add(match[1]);
  return found;
}
