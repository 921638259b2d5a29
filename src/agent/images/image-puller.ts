/**
 * The image puller (the kubelet's images.imageManager): makes sure a container's image is present
 * before the container is created, by its imagePullPolicy (Always pulls, IfNotPresent pulls when
 * missing, Never never pulls), with per-container back-off after a failed pull. A pull that fails is
 * ErrImagePull, then ImagePullBackOff once the back-off exceeds 10 s.
 */
import type { Container, Pod } from '../../api/index.js';
import { grpcMessage, type CriClient } from '../../cri/index.js';
import type { Backoff } from '../../lib/index.js';
import type { EventRecorder } from '../events.js';

/** The image is present, or why the container waits (and when to try again). */
export type PullResult = { ok: true } | { ok: false; waiting: { reason: string; message: string }; retryInMs?: number };

/** Back-off key of a container's pulls (under the pod's uid, so a removed pod forgets it). */
export const pullBackoffKey = (pod: Pod, c: Container): string => `${pod.metadata.uid}/pull/${c.name}`;

export class ImagePuller {
  constructor(
    private readonly deps: { cri: Pick<CriClient, 'image'>; events: EventRecorder; backoff: Backoff },
  ) {}

  async ensure(pod: Pod, c: Container): Promise<PullResult> {
    const { events, backoff } = this.deps;
    const image = this.deps.cri.image;
    const present = (await image.ImageStatus({ image: { image: c.image } })).image;
    if (present && c.imagePullPolicy !== 'Always') return { ok: true };
    if (c.imagePullPolicy === 'Never') {
      const message = `Container image "${c.image}" is not present with pull policy of Never`;
      events.record(pod, 'Warning', 'ErrImageNeverPull', message);
      return { ok: false, waiting: { reason: 'ErrImageNeverPull', message } };
    }
    events.record(pod, 'Normal', 'Pulling', `Pulling image "${c.image}"`);
    const started = Date.now();
    try {
      await image.PullImage({ image: { image: c.image } }, { deadlineMs: 10 * 60_000 });
    } catch (err) {
      const msg = grpcMessage(err);
      const key = pullBackoffKey(pod, c);
      const wait = backoff.next(key, Date.now(), Date.now());
      const waiting = { reason: backoff.delay(key) > 10_000 ? 'ImagePullBackOff' : 'ErrImagePull', message: msg };
      events.record(pod, 'Warning', 'Failed', `Failed to pull image "${c.image}": ${msg}`);
      return { ok: false, waiting, retryInMs: wait };
    }
    events.record(pod, 'Normal', 'Pulled', `Successfully pulled image "${c.image}" in ${Date.now() - started}ms`);
    return { ok: true };
  }
}
