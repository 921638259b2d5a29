/**
 * What the soak's moving parts (Churn, ImageChurn) share: steps on their own timer, which start()
 * of the subclass sets; pause() while a fault must see a still cluster (a step returns at once while
 * paused > 0), resume(), stop().
 */
export abstract class Stepper {
  protected timer: NodeJS.Timeout | undefined;
  protected paused = 0;
  protected busy: Promise<void> = Promise.resolve();

  /** Stops new steps; resolves when the step under way (if any) is done. */
  async pause(): Promise<void> {
    this.paused++;
    await this.busy;
  }

  resume(): void {
    this.paused = Math.max(0, this.paused - 1);
  }

  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.paused = Infinity;
    await this.busy;
  }
}
