/**
 * An undo stack for multi-step creation: push the reverse of each step as it succeeds; on failure,
 * run them newest first. Undo steps that fail are reported to onError and do not stop the others.
 */
export class UndoStack {
  private readonly steps: { what: string; undo: () => Promise<unknown> | unknown }[] = [];

  push(what: string, undo: () => Promise<unknown> | unknown): void {
    this.steps.push({ what, undo });
  }

  async unwind(onError: (what: string, err: unknown) => void): Promise<void> {
    while (this.steps.length > 0) {
      const step = this.steps.pop()!;
      try {
        await step.undo();
      } catch (err) {
        onError(step.what, err);
      }
    }
  }
}
