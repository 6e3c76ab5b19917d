/** Dockerfile errors: the message names the file and line when one is known. */
import { EngineError } from '../../lib/errdefs.js';

export class DockerfileError extends EngineError {
  constructor(message: string, readonly line?: number) {
    super('invalid-argument', message, { code: 'ERR_BUILD_DOCKERFILE' });
    this.name = 'DockerfileError';
  }
}

/** `Dockerfile:7: unknown instruction: CPY` */
export function atLine(file: string, line: number, message: string): DockerfileError {
  return new DockerfileError(`${file}:${line}: ${message}`, line);
}
