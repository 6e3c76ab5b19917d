/**
 * Go's text/tabwriter with the settings docker's tables use (minwidth 10, tabwidth 1,
 * padding 3, padchar ' ', no flags): tab-terminated cells are aligned in column blocks;
 * the text after a line's last tab is not padded. Widths count runes.
 */

export interface TabwriterOptions {
  readonly minWidth: number;
  readonly padding: number;
}

export const DOCKER_TABLE: TabwriterOptions = { minWidth: 10, padding: 3 };

const runeWidth = (s: string): number => [...s].length;

export function tabwrite(text: string, opts: TabwriterOptions = DOCKER_TABLE): string {
  const lines = text.split('\n').map((l) => l.split('\t'));
  const widths: number[] = [];
  const out: string[] = [];

  const writeLines = (line0: number, line1: number): void => {
    for (let i = line0; i < line1; i++) {
      const cells = lines[i] as string[];
      let s = '';
      cells.forEach((c, j) => {
        s += c;
        if (j < widths.length && j < cells.length - 1) s += ' '.repeat(Math.max(0, (widths[j] as number) - runeWidth(c)));
      });
      out.push(i + 1 === lines.length ? s : `${s}\n`);
    }
  };

  const format = (line0: number, line1: number): void => {
    const column = widths.length;
    for (let t = line0; t < line1; t++) {
      if (column >= (lines[t] as string[]).length - 1) continue;
      writeLines(line0, t);
      line0 = t;
      let width = opts.minWidth;
      for (; t < line1; t++) {
        const cells = lines[t] as string[];
        if (column >= cells.length - 1) break;
        const w = runeWidth(cells[column] as string) + opts.padding;
        if (w > width) width = w;
      }
      widths.push(width);
      format(line0, t);
      widths.pop();
      line0 = t;
      t--; // the outer loop's t++ revisits line t, as Go's loop does
    }
    writeLines(line0, line1);
  };
  format(0, lines.length);
  return out.join('');
}
