/** Dockerfile language (pure): parser, instruction model, word expansion, .dockerignore. */
export { DockerfileError, atLine } from './errors.js';
export { parseDockerfile, INSTRUCTIONS, type Node, type Heredoc, type ParsedDockerfile } from './parser.js';
export {
  parseModel, toInstruction, splitWords, stageGraph, findStage, parseDuration, formatDuration, parseRunMount, type RunMount,
  type Instruction, type FromInstr, type ExecInstr, type KvInstr, type ArgInstr, type ListInstr, type WordInstr,
  type CopyInstr, type OnbuildInstr, type HealthInstr, type ShellInstr, type Stage, type DockerfileModel,
} from './instructions.js';
export { processWord, processWords, type Env } from './shell-lex.js';
export { IgnoreMatcher, parseIgnoreFile, compilePattern, cleanPath } from '../../api/index.js';
