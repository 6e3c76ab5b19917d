export {
  type FlagKind,
  type FlagDef,
  type FlagValue,
  type ParsedFlags,
  type ParseOptions,
  FlagError,
  parseFlags,
  parseGoBool,
  parseGoInt,
  flagString,
  flagBool,
  flagInt,
  flagList,
  formatFlagUsages,
} from './flag-set.js';
export { type EnvLookup, resolveEnvEntry, parseEnvFileText, kvListToMap, parseFilterList } from './opts.js';
