/** One HTTPS request to a scheduler's REST API on 127.0.0.1, as a bearer token (none: token null). */
import { request } from 'node:https';

export async function schedulerApi(
  target: { port: number; ca: string; token: string },
  path: string,
  init: { method?: string; body?: string; token?: string | null } = {},
): Promise<{ status: number; json: any }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = {};
    if (init.token !== null) headers.Authorization = `Bearer ${init.token ?? target.token}`;
    const req = request({ host: '127.0.0.1', port: target.port, path, method: init.method ?? 'GET', ca: target.ca, headers }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: body ? JSON.parse(body) : undefined }));
    });
    req.on('error', reject);
    req.end(init.body);
  });
}
