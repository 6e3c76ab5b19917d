/**
 * Renders rows with a docker `--format` value (formatter.Context): `table ...` gets a header
 * row and tabwriter alignment, `json` is `{{json .}}`, anything else is a plain template run
 * once per row. `\t` and `\n` written literally in the format become tab and newline.
 */
import { Template, TemplateError, type TemplateObject } from './template.js';
import { tabwrite } from './tabwriter.js';

export interface PreparedFormat {
  readonly isTable: boolean;
  readonly template: Template;
}

/** Docker's error texts around template failures. */
export class FormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FormatError';
  }
}

export function prepareFormat(format: string): PreparedFormat {
  const isTable = format.startsWith('table');
  let src = isTable ? format.slice('table'.length) : format === 'json' ? '{{json .}}' : format;
  src = src.replace(/^ +| +$/g, '').replace(/\\t|\\n/g, (m) => (m === '\\t' ? '\t' : '\n'));
  try {
    return { isTable, template: Template.parse(src) };
  } catch (e) {
    throw new FormatError(`failed to parse template: ${(e as Error).message}`);
  }
}

function exec(t: Template, data: unknown): string {
  try {
    return t.execute(data);
  } catch (e) {
    if (e instanceof TemplateError) throw new FormatError(`failed to execute template: ${e.message}`);
    throw e;
  }
}

export function renderRows(format: PreparedFormat | string, rows: readonly TemplateObject[], header: TemplateObject): string {
  const f = typeof format === 'string' ? prepareFormat(format) : format;
  let body = '';
  for (const r of rows) body += `${exec(f.template, r)}\n`;
  if (!f.isTable) return body;
  let head = '';
  try {
    head = f.template.execute(header);
  } catch {
    head = '';
  }
  return tabwrite(`${head}\n${body}`);
}
