/**
 * Output of the inspect verbs (docker's inspect.Inspect): without a format, the raw daemon
 * JSON of every found object as one indented array; with `-f`, the template per object.
 * Errors for missing objects follow the output on stderr; exit 1 if any.
 */
import { FormatError, indentJson, Template, TemplateError } from '../format/index.js';
import { StatusError, type CommandEnv } from './command.js';

export interface InspectResult {
  /** raw JSON text as received, or undefined when the object is missing */
  readonly raw: string | undefined;
  readonly error?: string;
}

export async function writeInspect(
  env: CommandEnv,
  names: readonly string[],
  format: string,
  get: (name: string) => Promise<InspectResult>,
): Promise<number> {
  let tmpl: Template | undefined;
  if (format && format !== 'json') {
    const src = format.replace(/\\t|\\n/g, (m) => (m === '\\t' ? '\t' : '\n'));
    try {
      tmpl = Template.parse(src);
    } catch (e) {
      throw new StatusError(64, `template parsing error: ${(e as Error).message}`);
    }
  }
  const found: string[] = [];
  const errors: string[] = [];
  for (const name of names) {
    const r = await get(name);
    if (r.raw === undefined) {
      errors.push(r.error ?? `Error: No such object: ${name}`);
      continue;
    }
    if (!tmpl) {
      found.push(r.raw.trim());
      continue;
    }
    try {
      env.io.stdout.write(`${tmpl.execute(JSON.parse(r.raw), { missingKey: 'error' })}\n`);
    } catch (e) {
      if (e instanceof TemplateError || e instanceof FormatError) {
        env.io.stdout.write('\n');
        throw new StatusError(1, `template parsing error: ${e.message}`);
      }
      throw e;
    }
  }
  if (!tmpl) env.io.stdout.write(found.length ? `${indentJson(`[${found.join(',')}]`)}\n` : '[]\n');
  if (errors.length) throw new StatusError(1, errors.join('\n'));
  return 0;
}
