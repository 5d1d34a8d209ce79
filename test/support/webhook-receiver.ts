/** A real HTTP webhook receiver for report delivery tests: answers with a scripted status per call. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface WebhookReceiver {
  url: string;
  /** bodies received, in order */
  bodies: unknown[];
  close(): Promise<void>;
}

/** `statuses[i]` answers call i; calls past the end get the last status. */
export async function webhookReceiver(statuses: number[]): Promise<WebhookReceiver> {
  const bodies: unknown[] = [];
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      bodies.push(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      const status = statuses[Math.min(bodies.length - 1, statuses.length - 1)] ?? 200;
      response.writeHead(status, { 'content-type': 'text/plain' }).end(status < 300 ? 'ok' : 'nope');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks/secret-token-path`,
    bodies,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
