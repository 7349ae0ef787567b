export { Module, camelPath, Parameter, ModuleList, flatten } from "../module";
export type { StateDict, NestedNumbers } from "../module";
