/**
 * execa for modules that only await a command's result, imported on the first call: most processes
 * that load those modules (the CLI's light commands, the unit tests) never run a command, and
 * importing execa costs about 0.1 s of CPU. Unlike execa's own, it returns a plain promise of the
 * result, no subprocess handle (use `import { execa } from 'execa'` for streams or kill()).
 */
import type { Options, Result } from 'execa';

// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- the same default as execa's own signature, so callers' Result types stay as they are
export async function execa<OptionsType extends Options = {}>(file: string, args: readonly string[], options?: OptionsType): Promise<Result<OptionsType>> {
  const { execa: run } = await import('execa');
  return (await run(file, args, options)) as unknown as Result<OptionsType>;
}
