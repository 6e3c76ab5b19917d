/** `pier volume ls [-q] [-f FILTER] [--format]`: GET /volumes. */
import { flagBool, flagString, type ParsedFlags } from '../../flags/index.js';
import { DEFAULT_VOLUME_TABLE, FormatError, prepareFormat, renderRows, volumeHeader, volumeRow } from '../../format/index.js';
import { StatusError, type CommandEnv, type CommandSpec, filterFlag, filtersQuery } from '../command.js';
import { listVolumes } from './volume-request.js';

export const command: CommandSpec = {
  usage: '[OPTIONS]',
  description: 'List volumes',
  aliases: ['pier volume ls', 'pier volume list'],
  flags: [
    { long: 'filter', short: 'f', kind: 'stringArray', valueName: 'filter', usage: "Provide filter values (e.g. 'dangling=true')" },
    { long: 'format', kind: 'string', usage: 'Format output using a custom template' },
    { long: 'quiet', short: 'q', kind: 'bool', usage: 'Only display volume names' },
  ],
  args: { kind: 'none' },
  async run(env: CommandEnv, p: ParsedFlags): Promise<number> {
    let format = flagString(p, 'format');
    if (flagBool(p, 'quiet')) format = '{{.Name}}';
    else if (format === '' || format === 'table') format = DEFAULT_VOLUME_TABLE;
    try {
      const prepared = prepareFormat(format);
      const list = (await listVolumes(env, filtersQuery(filterFlag(p)))).sort((a, b) => (a.Name < b.Name ? -1 : 1));
      env.io.stdout.write(renderRows(prepared, list.map(volumeRow), volumeHeader()));
    } catch (e) {
      if (e instanceof FormatError) throw new StatusError(1, e.message);
      throw e;
    }
    return 0;
  },
};
