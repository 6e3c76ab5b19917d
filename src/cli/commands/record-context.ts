/** A `--format` row over a plain record (history, system df): fields by name, `{{json .}}` the record. */
import type { TemplateObject } from '../format/index.js';

export class RecordContext implements TemplateObject {
  constructor(readonly templateTypeName: string, private readonly fields: Readonly<Record<string, unknown>>) {}
  templateField(name: string): { value: unknown } | undefined {
    return name in this.fields ? { value: this.fields[name] } : undefined;
  }
  toJSON(): unknown {
    return this.fields;
  }
}
