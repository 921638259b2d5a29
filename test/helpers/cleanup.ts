/**
 * Runs every cleanup step even when an earlier one throws (a failed agent stop must not leave the
 * scheduler process, the runtime's mounts or the temp folder behind), then throws the first error.
 */
export async function runAllSteps(steps: readonly (() => unknown)[]): Promise<void> {
  const errors: unknown[] = [];
  for (const step of steps) {
    try {
      await step();
    } catch (err) {
      errors.push(err);
    }
  }
  if (errors.length === 1) throw errors[0];
  if (errors.length > 1) throw new AggregateError(errors, `${errors.length} cleanup steps failed`);
}
