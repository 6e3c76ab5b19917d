/** conmon's command line from a typed options object (pure, tested without root). */
export interface ConmonArgs {
  conmonPath: string;
  cid: string;
  cuuid: string;
  name: string;
  runtimePath: string;
  runtimeArgs: string[];
  bundle: string;
  containerPidFile: string;
  conmonPidFile: string;
  logPath: string;
  exitDir?: string;
  persistDir?: string;
  socketDir: string;
  stdin: boolean;
  tty: boolean;
  leaveStdinOpen: boolean;
  exec?: { processSpec: string; attach: boolean };
  logLevel?: string;
}

export function conmonArgv(o: ConmonArgs): string[] {
  const a = [
    '--api-version', '1',
    '-c', o.cid,
    '-u', o.cuuid,
    '-n', o.name,
    '-r', o.runtimePath,
    '-b', o.bundle,
    '-p', o.containerPidFile,
    '-P', o.conmonPidFile,
    '-l', `k8s-file:${o.logPath}`,
    '--socket-dir-path', o.socketDir,
    '--log-level', o.logLevel ?? 'error',
  ];
  if (o.exitDir) a.push('--exit-dir', o.exitDir);
  if (o.persistDir) a.push('--persist-dir', o.persistDir);
  for (const r of o.runtimeArgs) a.push('--runtime-arg', r);
  if (o.stdin) a.push('-i');
  if (o.tty) a.push('-t');
  if (o.leaveStdinOpen) a.push('--leave-stdin-open');
  if (o.exec) {
    a.push('-e', '--exec-process-spec', o.exec.processSpec);
    if (o.exec.attach) a.push('--exec-attach');
  }
  return [o.conmonPath, ...a];
}
